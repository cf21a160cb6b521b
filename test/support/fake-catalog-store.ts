// An in-memory CatalogStore (broker/catalog/catalog-store.ts) for unit tests of the
// catalog's commit discipline: each commit can be made to fail, to lose its head revision
// to "another writer", or to wait until the test releases it, so a test can see what the
// catalog holds and acknowledges while a commit is in flight or after it failed.
import type { CatalogCommit, CatalogMembers, CatalogState, CatalogStore } from '../../broker/catalog/catalog-store.ts';

type Outcome = { kind: 'fail'; error: Error } | { kind: 'conflict' } | { kind: 'hold'; release: Promise<void> };

export class FakeCatalogStore implements CatalogStore {
  #state: CatalogState = { revision: 0, compactedThrough: 0, exports: [], events: [], leases: [], advertisements: [] };
  readonly #outcomes: Outcome[] = [];
  /** Every commit that took effect, in order. */
  readonly committed: CatalogCommit[] = [];
  /** Commits called so far (taken effect or not). */
  calls = 0;

  /** The next commit rejects with `error` and writes nothing. */
  failNext(error = new Error('disk full')): void {
    this.#outcomes.push({ kind: 'fail', error });
  }

  /** The next commit finds another head revision (as if another replica wrote first) and writes nothing. */
  conflictNext(): void {
    this.#outcomes.push({ kind: 'conflict' });
  }

  /** The next commit waits until the returned function is called, then takes effect. */
  holdNext(): () => void {
    let release!: () => void;
    this.#outcomes.push({ kind: 'hold', release: new Promise<void>((r) => { release = r; }) });
    return release;
  }

  get revision(): number {
    return this.#state.revision;
  }

  async load(): Promise<CatalogState> {
    return structuredClone(this.#state);
  }

  async commit(c: CatalogCommit): Promise<boolean> {
    this.calls++;
    const outcome = this.#outcomes.shift();
    if (outcome?.kind === 'fail') throw outcome.error;
    if (outcome?.kind === 'conflict') return false;
    if (outcome?.kind === 'hold') await outcome.release;
    if (c.after !== this.#state.revision) return false;
    const key = (e: { cluster: string; namespace: string; name: string }) => `${e.cluster}/${e.namespace}/${e.name}`;
    const gone = new Set([...c.deletes, ...c.upserts].map(key));
    const leaseGone = new Set([...(c.leaseDeletes ?? []), ...(c.leases ?? []).map((l) => l.cluster)]);
    const adGone = new Set([...(c.advertisementDeletes ?? []), ...(c.advertisements ?? []).map((a) => a.cluster)]);
    this.#state = {
      revision: c.revision,
      compactedThrough: Math.max(this.#state.compactedThrough, c.compactThrough),
      exports: [...this.#state.exports.filter((e) => !gone.has(key(e))), ...c.upserts],
      events: [...this.#state.events, ...c.events].filter((e) => e.revision > c.compactThrough),
      leases: [...this.#state.leases.filter((l) => !leaseGone.has(l.cluster)), ...(c.leases ?? [])],
      advertisements: [...(this.#state.advertisements ?? []).filter((a) => !adGone.has(a.cluster)), ...(c.advertisements ?? [])],
    };
    this.committed.push(c);
    return true;
  }
}

/** The catalog's whole view of the store: this fake plus a fixed member list. */
export function fakeCatalogMembers(catalog: FakeCatalogStore, members: () => readonly string[]): CatalogMembers {
  return { catalog, listClusters: async () => members().map((id) => ({ id, state: 'active' })) };
}
