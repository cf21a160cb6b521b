// Status writes through the status subresource, by server-side apply as `plexus`, and
// only when the status actually differs from what the cache holds: reconciles that find
// nothing new cost no API call (and trigger no watch event that would reconcile again).
import type { KubeApi } from './kube-api.ts';
import { isNotFound } from './kube-api.ts';
import type { KubeObject, ResourceType } from './resources.ts';

export type WithStatus<S> = KubeObject & { status?: S };

export class StatusWriter {
  readonly #api: KubeApi;
  readonly #equal: (a: unknown, b: unknown) => boolean;

  constructor(api: KubeApi, o: { equal?: (a: unknown, b: unknown) => boolean } = {}) {
    this.#api = api;
    this.#equal = o.equal ?? jsonEqual;
  }

  /**
   * Applies `status` to `current` unless equal to `current.status`. Returns true when it
   * wrote; false when unchanged or the object is gone (not-found is not an error here).
   */
  async apply<T extends WithStatus<unknown>>(r: ResourceType<T>, current: T, status: NonNullable<T['status']>): Promise<boolean> {
    if (this.#equal(current.status, status)) return false;
    const body = {
      apiVersion: r.apiVersion,
      kind: r.kind,
      metadata: { name: current.metadata?.name, ...(current.metadata?.namespace ? { namespace: current.metadata.namespace } : {}) },
      status,
    } as unknown as T;
    try {
      await this.#api.apply(r, body, { subresource: 'status' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

/** Structural equality of JSON values with object keys in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
