// One catalog change being planned: export upserts and withdrawals, the service events
// they cause and cluster events, each numbered with the next revision. Nothing is
// mutated until the store has committed: the change set overlays the index, and apply()
// folds it in afterwards. Per key, the export event comes first and the service event
// (only when the merged service really changed) right after it.
import type { ClusterAdvertisement } from '../api/advertisement.ts';
import type { ClusterState, ExportRecord, ExportSpec, MergedService, WatchEvent } from '../api/catalog.ts';
import type { CatalogCommit, StoredAdvertisement, StoredEvent, StoredExport, StoredLease } from './catalog-store.ts';
import { serviceKey, type CatalogIndex, type ServiceKey } from './catalog-index.ts';
import type { LoggedEvent } from './event-log.ts';
import { mergeService } from './merge.ts';

export interface BuiltChange {
  readonly revision: number;
  readonly commit: CatalogCommit;
  readonly events: readonly LoggedEvent[];
  /** Every event line of the change in one buffer: what live watchers get, in one write. */
  readonly batch: Buffer;
}

/** The spec without its revision, in the canonical form stored and compared. */
export function specOf(record: ExportRecord): ExportSpec {
  const { revision: _revision, ...spec } = record;
  return spec;
}

export function specJson(spec: ExportSpec): string {
  return JSON.stringify(spec);
}

export class ChangeSet {
  readonly #index: CatalogIndex;
  #revision: number;
  readonly #exports = new Map<ServiceKey, Map<string, ExportRecord | null>>();
  readonly #merged = new Map<ServiceKey, MergedService | null>();
  readonly #events: StoredEvent[] = [];
  readonly #upserts: StoredExport[] = [];
  readonly #deletes: { cluster: string; namespace: string; name: string }[] = [];
  readonly #leases: StoredLease[] = [];
  readonly #leaseDeletes: string[] = [];
  readonly #advertisements: StoredAdvertisement[] = [];
  readonly #advertisementDeletes: string[] = [];

  readonly #committedAt: number | undefined;
  /** The head this change is planned on: the store commits it only on this head. */
  readonly #after: number;

  /** `committedAt` (wall-clock ms) is stamped on every event, for agents' propagation delay. */
  constructor(index: CatalogIndex, head: number, committedAt?: number) {
    this.#index = index;
    this.#revision = head;
    this.#after = head;
    this.#committedAt = committedAt;
  }

  /** The head revision once this change set is committed. */
  get revision(): number {
    return this.#revision;
  }

  get empty(): boolean {
    return this.#events.length === 0;
  }

  /** The export as it will be once this change set is applied. */
  current(cluster: string, key: ServiceKey): ExportRecord | undefined {
    const pending = this.#exports.get(key);
    if (pending?.has(cluster)) return pending.get(cluster) ?? undefined;
    return this.#index.get(cluster, key);
  }

  /** The merged service as it will be once this change set is applied. */
  merged(key: ServiceKey): MergedService | null {
    return this.#merged.has(key) ? this.#merged.get(key)! : (this.#index.merged(key) ?? null);
  }

  #event(e: WatchEvent): void {
    this.#events.push({ revision: e.revision, payload: JSON.stringify(this.#committedAt === undefined ? e : { ...e, committedAt: this.#committedAt }) });
  }

  #setExport(cluster: string, key: ServiceKey, record: ExportRecord | null): void {
    let m = this.#exports.get(key);
    if (!m) this.#exports.set(key, (m = new Map()));
    m.set(cluster, record);
  }

  /** Upserts a canonical spec; false (and nothing planned) when it is unchanged. */
  putExport(spec: ExportSpec): boolean {
    const key = serviceKey(spec.namespace, spec.name);
    const before = this.current(spec.cluster, key);
    const json = specJson(spec);
    if (before && specJson(specOf(before)) === json) return false;
    const revision = ++this.#revision;
    const record: ExportRecord = { ...spec, revision };
    this.#setExport(spec.cluster, key, record);
    this.#upserts.push({ cluster: spec.cluster, namespace: spec.namespace, name: spec.name, spec: json, revision });
    this.#event({ type: 'export', revision, cluster: spec.cluster, namespace: spec.namespace, name: spec.name, export: record });
    this.#remerge(key, spec.namespace, spec.name);
    return true;
  }

  /** Withdraws an export; false when there is none (withdrawal is idempotent). */
  deleteExport(cluster: string, namespace: string, name: string): boolean {
    const key = serviceKey(namespace, name);
    if (!this.current(cluster, key)) return false;
    this.#setExport(cluster, key, null);
    this.#deletes.push({ cluster, namespace, name });
    this.#event({ type: 'export', revision: ++this.#revision, cluster, namespace, name, export: null });
    this.#remerge(key, namespace, name);
    return true;
  }

  /** A cluster's availability changed; `forget` drops its persisted lease (removal). */
  clusterState(state: ClusterState, o: { forget?: boolean } = {}): void {
    if (o.forget) this.#leaseDeletes.push(state.cluster);
    else this.#leases.push({ cluster: state.cluster, available: state.available });
    this.#event({ type: 'cluster', revision: ++this.#revision, state });
  }

  /** A cluster's advertisement, numbered with the next revision; null removes it. */
  advertisement(cluster: string, build: ((revision: number) => ClusterAdvertisement) | null): ClusterAdvertisement | null {
    const revision = ++this.#revision;
    const record = build ? build(revision) : null;
    if (record) this.#advertisements.push({ cluster, body: JSON.stringify(record), revision });
    else this.#advertisementDeletes.push(cluster);
    this.#event({ type: 'advertisement', revision, cluster, advertisement: record });
    return record;
  }

  /** A person's identity was revoked (broker/users/): agents refuse it from this revision on. */
  userRevoked(name: string, revokedAt: Date): void {
    this.#event({ type: 'user-revoked', revision: ++this.#revision, name, revokedAt: revokedAt.toISOString() });
  }

  /** A new RBAC baseline revision or a targeting change (broker/rbac/): agents refetch theirs. */
  rbac(rbacRevision: number): void {
    this.#event({ type: 'rbac', revision: ++this.#revision, rbacRevision });
  }

  /** Recomputes one key from its own exports only: O(exports of that key). */
  #remerge(key: ServiceKey, namespace: string, name: string): void {
    const exports = new Map(this.#index.ofKey(key));
    for (const [cluster, r] of this.#exports.get(key) ?? []) {
      if (r) exports.set(cluster, r);
      else exports.delete(cluster);
    }
    const next = mergeService([...exports.values()]);
    const before = this.merged(key);
    if (JSON.stringify(before) === JSON.stringify(next)) return;
    this.#merged.set(key, next);
    this.#event({ type: 'service', revision: ++this.#revision, namespace, name, service: next });
  }

  build(compactThrough: number): BuiltChange {
    const events: LoggedEvent[] = this.#events.map((e) => ({ revision: e.revision, line: Buffer.from(`${e.payload}\n`) }));
    return {
      revision: this.#revision,
      commit: {
        after: this.#after, revision: this.#revision, upserts: this.#upserts, deletes: this.#deletes, events: this.#events,
        leases: this.#leases, leaseDeletes: this.#leaseDeletes, compactThrough,
        advertisements: this.#advertisements, advertisementDeletes: this.#advertisementDeletes,
      },
      events,
      batch: Buffer.concat(events.map((e) => e.line)),
    };
  }

  /** Folds the committed change into the index. */
  apply(): void {
    for (const [key, m] of this.#exports) {
      for (const [cluster, r] of m) {
        if (r) this.#index.put(r);
        else this.#index.delete(cluster, key);
      }
    }
    for (const [key, s] of this.#merged) this.#index.setMerged(key, s);
  }
}
