// Pure: what the agent applies for one baseline entry, how it tells its own objects from
// anyone else's, and whether a live object has drifted from what it applied. Drift is
// judged on the content that grants access (rules, roleRef, subjects) plus the baseline's
// own labels and annotations; fields others add (extra labels, managedFields) are theirs.
import { isDeepStrictEqual } from 'node:util';
import { rbacRefKey, type RbacEntry, type RbacKind } from '../../broker/api/rbac.ts';
import {
  CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, FIELD_MANAGER, LABEL_RBAC_OWNED, NAMESPACES, ROLES, ROLE_BINDINGS,
  type KubeObject, type ResourceType,
} from '../kube/index.ts';

export const ANNOTATION_RBAC_REVISION = 'rbac.plexus.io/revision';
export const ANNOTATION_RBAC_HASH = 'rbac.plexus.io/hash';

/** The four kinds the controller watches for drift (Namespaces are only ensured). */
export const WATCHED_RBAC_RESOURCES = [CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS] as const;

const byKind: Record<RbacKind, ResourceType<KubeObject>> = {
  ClusterRole: CLUSTER_ROLES,
  ClusterRoleBinding: CLUSTER_ROLE_BINDINGS,
  Role: ROLES,
  RoleBinding: ROLE_BINDINGS,
  Namespace: NAMESPACES as ResourceType<KubeObject>,
};

export function resourceOf(kind: RbacKind): ResourceType<KubeObject> {
  return byKind[kind];
}

export interface RbacRef {
  readonly kind: RbacKind;
  readonly namespace?: string;
  readonly name: string;
}

export function entryRef(e: RbacEntry): RbacRef {
  const m = e.object.metadata;
  return { kind: e.object.kind, ...(m.namespace ? { namespace: m.namespace } : {}), name: m.name };
}

export function entryKey(e: RbacEntry): string {
  return rbacRefKey(entryRef(e));
}

export function objectRefKey(kind: RbacKind, obj: KubeObject): string {
  return rbacRefKey({ kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' });
}

/** `Kind/namespace/name` back into a ref; undefined for anything else. */
export function parseRbacKey(key: string): RbacRef | undefined {
  const parts = key.split('/');
  if (parts.length !== 3 || !parts[2] || !(parts[0]! in byKind)) return undefined;
  return { kind: parts[0] as RbacKind, ...(parts[1] ? { namespace: parts[1] } : {}), name: parts[2] };
}

/** The object as applied: the baseline's content, our ownership label, revision and hash. */
export function desiredObject(entry: RbacEntry, revision: number): KubeObject {
  const o = entry.object;
  const { rules, roleRef, subjects } = o;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: o.metadata.name,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      labels: { ...o.metadata.labels, [LABEL_RBAC_OWNED]: 'true' },
      annotations: { ...o.metadata.annotations, [ANNOTATION_RBAC_REVISION]: String(revision), [ANNOTATION_RBAC_HASH]: entry.hash },
    },
    ...(o.kind === 'Role' || o.kind === 'ClusterRole' ? { rules: rules ?? [] } : {}),
    ...(roleRef ? { roleRef } : {}),
    ...(subjects ? { subjects } : {}),
  } as KubeObject;
}

/** Carries the ownership label, or was written by our field manager (someone stripped the label). */
export function isOwned(obj: KubeObject): boolean {
  if (obj.metadata?.labels?.[LABEL_RBAC_OWNED] === 'true') return true;
  return (obj.metadata?.managedFields ?? []).some((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply');
}

function compactRules(rules: unknown): unknown {
  if (!Array.isArray(rules)) return [];
  return rules.map((r: Record<string, unknown>) => Object.fromEntries(
    Object.entries(r).filter(([, v]) => !(Array.isArray(v) && v.length === 0) && v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)),
  ));
}

function accessOf(obj: KubeObject): unknown {
  const o = obj as KubeObject & { rules?: unknown; roleRef?: unknown; subjects?: unknown };
  return { rules: compactRules(o.rules), roleRef: o.roleRef ?? null, subjects: o.subjects ?? [] };
}

function subset(want: Record<string, string> | undefined, have: Record<string, string> | undefined, skip: string): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => k === skip || have?.[k] === v);
}

/** True when `live` no longer grants what `desired` does, or lost our label, hash or the baseline's metadata. */
export function contentDrifted(desired: KubeObject, live: KubeObject): boolean {
  if (desired.kind === 'Namespace') return live.metadata?.labels?.[LABEL_RBAC_OWNED] !== 'true';
  if (!isDeepStrictEqual(accessOf(desired), accessOf(live))) return true;
  if (!subset(desired.metadata?.labels, live.metadata?.labels, '')) return true;
  return !subset(desired.metadata?.annotations, live.metadata?.annotations, ANNOTATION_RBAC_REVISION);
}

/** Content matches, but it was applied for another revision: re-apply, not drift. */
export function revisionStale(desired: KubeObject, live: KubeObject): boolean {
  return desired.metadata?.annotations?.[ANNOTATION_RBAC_REVISION] !== live.metadata?.annotations?.[ANNOTATION_RBAC_REVISION];
}
