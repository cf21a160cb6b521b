// The canonical form of a baseline: objects sorted by key with fixed field order, each
// with the hash of exactly what an agent applies. The document hash decides whether an
// apply makes a new revision; object hashes let `rbac diff` compare with what agents
// report without asking any API server.
import { createHash } from 'node:crypto';
import { rbacRefKey, type RbacEntry, type RbacObject, type RbacTarget } from '../api/rbac.ts';

export interface BaselineDocument {
  readonly target: RbacTarget;
  readonly allowKubeSystem: boolean;
  readonly entries: readonly RbacEntry[];
}

function sortedRecord(r: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!r || Object.keys(r).length === 0) return undefined;
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!]));
}

/** Fixed key order, empty optionals dropped, subjects' apiGroup defaulted as the API server does. */
export function canonicalObject(o: RbacObject): RbacObject {
  const metadata = {
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    ...(sortedRecord(o.metadata.labels) ? { labels: sortedRecord(o.metadata.labels) } : {}),
    ...(sortedRecord(o.metadata.annotations) ? { annotations: sortedRecord(o.metadata.annotations) } : {}),
  };
  const subjects = o.subjects?.map((s) => ({
    kind: s.kind, name: s.name,
    ...(s.kind === 'ServiceAccount' ? { namespace: s.namespace ?? o.metadata.namespace } : { apiGroup: 'rbac.authorization.k8s.io' }),
  }));
  return {
    apiVersion: o.apiVersion, kind: o.kind, metadata,
    ...(o.rules ? { rules: o.rules } : {}),
    ...(o.roleRef ? { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: o.roleRef.kind, name: o.roleRef.name } } : {}),
    ...(subjects ? { subjects } : {}),
  } as RbacObject;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function keyOfObject(o: RbacObject): string {
  return rbacRefKey({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
}

export function buildDocument(objects: readonly RbacObject[], target: RbacTarget, allowKubeSystem: boolean): BaselineDocument {
  const entries = objects.map(canonicalObject)
    .sort((a, b) => (keyOfObject(a) < keyOfObject(b) ? -1 : 1))
    .map((object) => ({ hash: sha256(JSON.stringify(object)).slice(0, 32), object }));
  const selector = 'selector' in target ? sortedRecord(target.selector) ?? {} : undefined;
  return { target: selector ? { selector } : { all: true }, allowKubeSystem, entries };
}

export function documentHash(d: BaselineDocument): string {
  return sha256(JSON.stringify(d));
}

/** Whether a cluster with these labels is selected by the target. */
export function targets(target: RbacTarget, labels: Readonly<Record<string, string>>): boolean {
  if ('all' in target) return true;
  return Object.entries(target.selector).every(([k, v]) => labels[k] === v);
}

/** `key=value,key2=value2` or `all`. */
export function parseTarget(text: string): RbacTarget | undefined {
  if (text === 'all') return { all: true };
  const selector: Record<string, string> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) return undefined;
    selector[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return { selector };
}
