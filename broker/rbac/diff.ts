// What applying a baseline would change in one cluster, computed from the agent's last
// report (the hashes of what it applied, and its clashes). Pure. An agent that never
// reported is assumed to hold nothing of ours.
import { rbacRefKey, type RbacChange, type RbacEntry, type RbacObjectRef, type RbacStatusReport } from '../api/rbac.ts';
import { keyOfObject } from './baseline.ts';

function refOf(e: RbacEntry): RbacObjectRef {
  const m = e.object.metadata;
  return { kind: e.object.kind, ...(m.namespace ? { namespace: m.namespace } : {}), name: m.name };
}

export function diffCluster(desired: readonly RbacEntry[], report: RbacStatusReport | undefined): RbacChange[] {
  const applied = new Map((report?.applied ?? []).map((a) => [rbacRefKey(a), a]));
  const clashes = new Set((report?.clashes ?? []).map((c) => rbacRefKey(c)));
  const wanted = new Set<string>();
  const changes: RbacChange[] = [];
  for (const e of desired) {
    const key = keyOfObject(e.object);
    wanted.add(key);
    const have = applied.get(key);
    if (clashes.has(key)) changes.push({ ...refOf(e), action: 'clash' });
    else if (!have) changes.push({ ...refOf(e), action: 'create' });
    else if (have.hash !== e.hash) changes.push({ ...refOf(e), action: 'update' });
  }
  for (const [key, a] of applied) {
    // Namespaces are never pruned: deleting one deletes everything in it.
    if (!wanted.has(key) && a.kind !== 'Namespace') {
      changes.push({ kind: a.kind, ...(a.namespace ? { namespace: a.namespace } : {}), name: a.name, action: 'delete' });
    }
  }
  return changes;
}
