// Level-based reconcile of the RBAC baseline. Two kinds of key: BASELINE_KEY fetches the
// baseline targeted at this cluster and enqueues every object key it may affect; an
// object key (`Kind/namespace/name`) makes one object match the baseline: apply it (SSA,
// field manager `plexus`) when missing or drifted, prune it when it is ours and no longer
// wanted, and leave it alone, reported as a clash, when someone else's object holds the
// name. It reads the informer caches (owned objects only) and falls back to a GET to see
// objects it does not own.
import type { RbacClusterBaseline } from '../../broker/api/rbac.ts';
import {
  NAMESPACES, TerminalError,
  type ComponentInformers, type KubeApi, type KubeObject, type ReconcileContext, type Reconciler, type Result,
} from '../kube/index.ts';
import type { Clock } from '../timing/clock.ts';
import { contentDrifted, desiredObject, isOwned, parseRbacKey, resourceOf, revisionStale, type RbacRef } from './desired-state.ts';
import type { RbacState } from './rbac-state.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';

export const BASELINE_KEY = '#baseline';

export interface RbacReconcilerDeps {
  api: KubeApi;
  /** Declared with CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES and ROLE_BINDINGS (owned objects only). */
  informers: ComponentInformers;
  state: RbacState;
  fetchBaseline: () => Promise<RbacClusterBaseline>;
  enqueue: (key: string) => void;
  clock: Clock;
  /** Refetch the baseline this often even without a watch event (a missed event heals). */
  resyncMs: number;
  /** Drift corrections by kind, and the baseline revision applied. */
  metrics?: Pick<AgentMetrics, 'rbacDriftCorrections' | 'rbacRevision'> | undefined;
}

export class RbacReconciler implements Reconciler {
  readonly #d: RbacReconcilerDeps;

  constructor(deps: RbacReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    if (key === BASELINE_KEY) return this.#loadBaseline(ctx);
    const ref = parseRbacKey(key);
    if (!ref) throw new TerminalError(`"${key}" is not a Kind/namespace/name key`);
    // Before the first fetch nothing is known; the fetch enqueues every key.
    if (!this.#d.state.loaded) return undefined;
    try {
      await (ref.kind === 'Namespace' ? this.#ensureNamespace(key, ref) : this.#reconcileObject(key, ref, ctx));
    } catch (err) {
      if (!(err instanceof TerminalError)) this.#d.state.error(key, (err as Error).message);
      throw err;
    }
    return undefined;
  }

  async #loadBaseline(ctx: ReconcileContext): Promise<Result> {
    const b = await this.#d.fetchBaseline();
    const before = this.#d.state.revision;
    const keys = this.#d.state.setBaseline(b);
    // Everything we own that the caches hold, so objects dropped while we were away are pruned too.
    for (const r of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] as const) {
      for (const obj of this.#d.informers.get(resourceOf(r)).list()) keys.push(`${r}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`);
    }
    for (const k of new Set(keys)) this.#d.enqueue(k);
    this.#d.metrics?.rbacRevision.set(b.revision);
    if (before !== b.revision) ctx.log.info({ revision: b.revision, targeted: b.targeted, objects: b.entries.length }, 'rbac baseline loaded');
    return { requeueAfterMs: this.#d.resyncMs };
  }

  async #ensureNamespace(key: string, ref: RbacRef): Promise<void> {
    const entry = this.#d.state.desired(key);
    // Namespaces are never pruned: deleting one deletes everything in it.
    if (!entry) return this.#d.state.forget(key);
    const live = await this.#d.api.get(NAMESPACES, { name: ref.name });
    if (!live) await this.#d.api.apply(NAMESPACES, desiredObject(entry, this.#d.state.revision ?? 0) as never);
    this.#d.state.applied(key, entry.hash);
  }

  async #reconcileObject(key: string, ref: RbacRef, ctx: ReconcileContext): Promise<void> {
    const { api, informers, state } = this.#d;
    const resource = resourceOf(ref.kind);
    const cached = informers.get(resource).get(ref.namespace, ref.name);
    const entry = state.desired(key);
    if (!entry) {
      if (cached && isOwned(cached)) {
        await api.delete(resource as never, { namespace: ref.namespace, name: ref.name });
        ctx.log.info('pruned: no longer in the baseline');
      }
      return state.forget(key);
    }
    const live: KubeObject | null = cached ?? (await api.get(resource, { namespace: ref.namespace, name: ref.name }));
    if (live && !isOwned(live)) {
      ctx.log.warn('name clash: an object without the Plexus label holds this name; left alone');
      return state.clash(key);
    }
    const desired = desiredObject(entry, state.revision ?? 0);
    const drifted = !live || contentDrifted(desired, live);
    if (!drifted && !revisionStale(desired, live)) return state.applied(key, entry.hash);
    if (drifted && state.appliedWith(key, entry.hash)) {
      const action = live ? 'modified' : 'deleted';
      state.drift(ref, action, this.#d.clock.now());
      this.#d.metrics?.rbacDriftCorrections.inc({ kind: ref.kind });
      ctx.log.warn({ action }, 'drift: corrected an out-of-band change');
    }
    await api.apply(resource, desired);
    state.applied(key, entry.hash);
  }
}
