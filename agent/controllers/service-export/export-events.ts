// Kubernetes Events on ServiceExports, so `kubectl describe serviceexport` tells the
// story: every condition that changed in a status write (Valid, Ready, Conflict) becomes
// an Event with the condition's reason and message; Warning when it is bad news. It wraps
// the status writer, so the reconciler stays unaware of Events. One Event per object,
// condition and reason, written with server-side apply: a transition that happens again
// updates its Event instead of adding one. Events are best effort: a failure is logged,
// never a reason to retry the reconcile.
import type { ServiceExport } from '../../../crds/types.ts';
import {
  EventRecorder, SERVICE_EXPORTS, type EventNote, type EventRecorderDeps, type KubeObject, type ResourceType, type StatusWriter,
} from '../../kube/index.ts';

type StatusApply = Pick<StatusWriter, 'apply'>;
/** A metav1.Condition as read back from the API (status and message loosely typed). */
type Condition = { readonly type: string; readonly status: string; readonly reason: string; readonly message?: string | undefined };

function isWarning(c: Condition): boolean {
  return (c.type === 'Valid' && c.status === 'False') || (c.type === 'Conflict' && c.status === 'True') || (c.type === 'Ready' && c.reason === 'Failed');
}

/** The conditions in `next` whose status or reason differs from the same type in `previous`. */
export function changedConditions(previous: readonly Condition[] | undefined, next: readonly Condition[]): Condition[] {
  const before = new Map((previous ?? []).map((c) => [c.type, c]));
  return next.filter((c) => before.get(c.type)?.status !== c.status || before.get(c.type)?.reason !== c.reason);
}

/** DNS-subdomain name: the export, its uid prefix (a re-created export gets new Events), condition and reason. */
function eventName(name: string, uid: string, c: Condition): string {
  const suffix = `${c.type}-${c.reason}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `${name}.${uid.slice(0, 8) || 'x'}.${suffix}`.slice(0, 253).replace(/[-.]+$/, '');
}

/** The Event for one changed condition of `se`. */
export function exportNote(se: ServiceExport, c: Condition): EventNote {
  const namespace = se.metadata?.namespace ?? '';
  const name = se.metadata?.name ?? '';
  const uid = se.metadata?.uid ?? '';
  return {
    name: eventName(name, uid, c), namespace,
    regarding: { apiVersion: SERVICE_EXPORTS.apiVersion, kind: SERVICE_EXPORTS.kind, namespace, name, uid },
    type: isWarning(c) ? 'Warning' : 'Normal',
    reason: c.reason,
    message: `${c.type}=${c.status}: ${c.message ?? ''}`,
  };
}

/** A status writer that also records an Event for each ServiceExport condition it changed. */
export function withExportEvents(status: StatusApply, d: EventRecorderDeps): StatusApply {
  const events = new EventRecorder({ ...d, logger: d.logger.child({ component: 'export-events' }) });
  return {
    apply: async <T extends KubeObject & { status?: unknown }>(r: ResourceType<T>, current: T, next: NonNullable<T['status']>): Promise<boolean> => {
      const wrote = await status.apply(r, current, next);
      if (!wrote || r.kind !== SERVICE_EXPORTS.kind) return wrote;
      const se = current as unknown as ServiceExport;
      const conditions: readonly Condition[] = (next as ServiceExport['status'])?.conditions ?? [];
      for (const c of changedConditions(se.status?.conditions, conditions)) await events.record(exportNote(se, c));
      return wrote;
    },
  };
}
