// Work-queue and cache keys: `namespace/name` for namespaced objects, `name` otherwise
// (the client-go convention). Reconcilers parse keys back; a malformed key is a bug in
// the event mapping, never something to crash on.
import type { KubeObject } from './resources.ts';

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

export interface ParsedKey {
  namespace: string | undefined;
  name: string;
}

/** undefined for a key with more than one `/` or an empty name. */
export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: undefined, name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  return undefined;
}
