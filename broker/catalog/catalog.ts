// The service catalog: exports from every cluster, merged per namespace/name, with a
// revisioned event log that watchers follow. Every write is planned as a ChangeSet,
// committed to the store in one atomic, conditional commit (on the head revision it was
// planned on), and only then applied in memory and fanned out, so an acknowledged write
// survives a crash and a failed one leaves no trace. Store commits are asynchronous, so
// writes are serialized: each is planned, committed and applied before the next one is
// planned, in the order they arrived. Reads answer from memory at once.
import type { Logger } from 'pino';
import type { AdvertisementList, ClusterAdvertisement } from '../api/advertisement.ts';
import { advertisementRecord, sameAdvertisement, type AdvertisementInput } from '../advertise/advertisement-record.ts';
import type {
  CatalogSnapshot, ExportRecord, ExportSpec, ExportWriteResponse, LeaseResponse, RefusedExport,
} from '../api/catalog.ts';
import { DEFAULT_PROTECTED_NAMESPACES, exportRefusal } from '../api/export-guard.ts';
import type { Clock } from '../clock.ts';
import { BrokerError } from '../errors.ts';
import type { CatalogMembers } from './catalog-store.ts';
import type { CatalogState } from './catalog-store.ts';
import { CatalogIndex, serviceKey } from './catalog-index.ts';
import { ChangeSet } from './change-set.ts';
import { EventLog } from './event-log.ts';
import { LeaseTracker } from './leases.ts';
import { mergeService } from './merge.ts';
import { WatchHub, type WatchOutput } from './watch-hub.ts';

export interface CatalogConfig {
  readonly leaseDurationSeconds: number;
  readonly leaseCheckIntervalMs: number;
  readonly eventRetention: number;
  readonly watchBookmarkIntervalMs: number;
  readonly watchHighWaterMarkBytes: number;
  /** Namespaces no cluster may export from; DEFAULT_PROTECTED_NAMESPACES when absent. */
  readonly protectedNamespaces?: readonly string[];
}

export interface CatalogDeps {
  readonly store: CatalogMembers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: CatalogConfig;
}

export interface SyncResult {
  readonly revision: number;
  readonly upserted: number;
  readonly withdrawn: number;
  readonly unchanged: number;
  /** Exports the guard refused (left out of the set, so any stored copy is withdrawn); absent when none was. */
  readonly refused?: RefusedExport[];
}

function sortedKeys(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/** The canonical form of a validated spec: fixed key order, maps sorted by key. */
export function canonicalSpec(s: ExportSpec): ExportSpec {
  return {
    cluster: s.cluster, namespace: s.namespace, name: s.name, createdAt: s.createdAt, type: s.type, ports: s.ports,
    clusterIPs: s.clusterIPs, sessionAffinity: s.sessionAffinity,
    ...(s.sessionAffinityConfig ? { sessionAffinityConfig: s.sessionAffinityConfig } : {}),
    endpointPorts: s.endpointPorts, endpoints: s.endpoints, annotations: sortedKeys(s.annotations),
    exportedLabels: sortedKeys(s.exportedLabels), exportedAnnotations: sortedKeys(s.exportedAnnotations), ipFamilies: s.ipFamilies,
    ...(s.internalTrafficPolicy ? { internalTrafficPolicy: s.internalTrafficPolicy } : {}),
    ...(s.trafficDistribution ? { trafficDistribution: s.trafficDistribution } : {}),
  };
}

export class Catalog {
  readonly #store: CatalogMembers;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #config: CatalogConfig;
  readonly #index = new CatalogIndex();
  readonly #events: EventLog;
  readonly #leases: LeaseTracker;
  readonly #hub: WatchHub;
  #timers: NodeJS.Timeout[] = [];
  #snapshotCache: WeakRef<{ revision: number; body: Buffer }> | undefined;
  /** The tail of the write queue: every write waits for the one before it. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Cluster advertisements (broker/advertise/), by cluster. */
  readonly #advertisements = new Map<string, ClusterAdvertisement>();

  /** Loads the catalog from the store and reconciles it with membership. */
  static async open(deps: CatalogDeps): Promise<Catalog> {
    const state = await deps.store.catalog.load();
    const catalog = new Catalog(deps, state);
    const persisted = new Map(state.leases.map((l) => [l.cluster, l.available]));
    await catalog.#serialize(() => catalog.#restoreLeases(persisted));
    return catalog;
  }

  private constructor(deps: CatalogDeps, state: CatalogState) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#config = deps.config;
    for (const e of state.exports) this.#index.put({ ...(JSON.parse(e.spec) as ExportSpec), revision: e.revision });
    for (const a of state.advertisements ?? []) this.#advertisements.set(a.cluster, JSON.parse(a.body) as ClusterAdvertisement);
    for (const key of this.#index.keys()) this.#index.setMerged(key, mergeService([...this.#index.ofKey(key).values()]));
    this.#events = new EventLog({
      retention: deps.config.eventRetention, head: state.revision, compactedThrough: state.compactedThrough,
      events: state.events.map((e) => ({ revision: e.revision, line: Buffer.from(`${e.payload}\n`) })),
    });
    this.#leases = new LeaseTracker({ durationSeconds: deps.config.leaseDurationSeconds });
    this.#hub = new WatchHub({ log: this.#events, highWaterMarkBytes: deps.config.watchHighWaterMarkBytes, logger: deps.logger });
  }

  get revision(): number {
    return this.#events.head;
  }

  get watchers(): number {
    return this.#hub.size;
  }

  /**
   * Every active cluster gets a fresh grace period (a broker restart withdraws nothing);
   * one that was unavailable stays so until it heartbeats. Clusters removed while the
   * broker was down (or between removal and withdrawal) are withdrawn now.
   */
  async #restoreLeases(persisted: Map<string, boolean>): Promise<void> {
    const active = new Set((await this.#store.listClusters()).filter((c) => c.state === 'active').map((c) => c.id));
    const now = this.#clock.now();
    for (const id of active) this.#leases.track(id, persisted.get(id) ?? true, now);
    const gone = new Set([...persisted.keys(), ...this.#index.clustersWithExports()].filter((id) => !active.has(id)));
    for (const id of [...gone].sort()) await this.#withdrawCluster(id, persisted.get(id) === true);
  }

  /**
   * Runs `write` after every write queued before it has finished (committed or failed):
   * a change is planned on the state its predecessors left, and acknowledged in order.
   */
  #serialize<T>(write: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(write);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  #changeSet(): ChangeSet {
    return new ChangeSet(this.#index, this.#events.head, this.#clock.now().getTime());
  }

  /**
   * Commits the change set, then applies it in memory and fans it out. A commit that fails
   * (or lost its head revision to another writer) leaves memory as it was and rejects:
   * nothing unacknowledged appears. Call only inside #serialize.
   */
  async #commit(cs: ChangeSet, after?: () => void): Promise<number> {
    if (cs.empty) return this.#events.head;
    const change = cs.build(this.#events.compactionFor(cs.revision));
    let committed: boolean;
    try {
      committed = await this.#store.catalog.commit(change.commit);
    } catch (err) {
      this.#log.error({ err, revision: change.revision }, 'catalog commit failed; nothing changed');
      // etcd's own codes say more to the caller (and the readiness probe) than a generic one.
      if (err instanceof BrokerError && (err.code === 'PLX_BROKER_ETCD_UNAVAILABLE' || err.code === 'PLX_BROKER_ETCD_OUTCOME_UNKNOWN')) throw err;
      throw new BrokerError('PLX_BROKER_STORE_FAILED', `catalog change to revision ${change.revision} was not committed: ${(err as Error).message}`, { cause: err });
    }
    if (!committed) {
      this.#log.error({ after: change.commit.after, revision: change.revision }, 'catalog head moved under this broker; change not committed');
      throw new BrokerError('PLX_BROKER_STORE_CONFLICT', `catalog revision ${change.commit.after} is no longer the stored head; change not committed`);
    }
    cs.apply();
    after?.();
    this.#events.append(change.events);
    this.#hub.broadcast(change.events, change.batch);
    return change.revision;
  }

  /** A cluster seen for the first time (since start or a rejoin) starts its lease now. */
  #track(cs: ChangeSet, cluster: string): (() => void) | undefined {
    if (this.#leases.has(cluster)) return undefined;
    cs.clusterState({ cluster, available: true, leaseRenewedAt: null });
    return () => this.#leases.track(cluster, true, this.#clock.now());
  }

  async upsert(caller: string, spec: ExportSpec): Promise<ExportWriteResponse> {
    checkOwner(caller, [spec]);
    const refusal = this.#refusal(caller, spec);
    if (refusal) throw new BrokerError(refusal.code, refusal.message);
    return this.#serialize(async () => {
      const cs = this.#changeSet();
      const track = this.#track(cs, caller);
      cs.putExport(canonicalSpec(spec));
      const revision = await this.#commit(cs, track);
      return { revision, service: this.#index.merged(serviceKey(spec.namespace, spec.name)) ?? null };
    });
  }

  withdraw(caller: string, namespace: string, name: string): Promise<ExportWriteResponse> {
    return this.#serialize(async () => {
      const cs = this.#changeSet();
      cs.deleteExport(caller, namespace, name);
      const revision = await this.#commit(cs);
      return { revision, service: this.#index.merged(serviceKey(namespace, name)) ?? null };
    });
  }

  /** Replaces the caller's whole export set in one atomic commit. */
  async sync(caller: string, specs: readonly ExportSpec[]): Promise<SyncResult> {
    checkOwner(caller, specs);
    const wanted = new Map<string, ExportSpec>();
    const refused: RefusedExport[] = [];
    for (const s of specs) {
      const key = serviceKey(s.namespace, s.name);
      if (wanted.has(key) || refused.some((r) => r.namespace === s.namespace && r.name === s.name)) {
        throw new BrokerError('PLX_BROKER_VALIDATION', `export ${key} is listed twice`, { details: [{ path: 'exports', message: `duplicate ${key}` }] });
      }
      // One refused export must not hold back the rest of the cluster's set: it is left
      // out (so a stored copy is withdrawn) and named in the response.
      const refusal = this.#refusal(caller, s);
      if (refusal) refused.push({ namespace: s.namespace, name: s.name, ...refusal });
      else wanted.set(key, canonicalSpec(s));
    }
    return this.#serialize(async () => {
      const cs = this.#changeSet();
      const track = this.#track(cs, caller);
      let upserted = 0;
      let withdrawn = 0;
      for (const key of [...wanted.keys()].sort()) if (cs.putExport(wanted.get(key)!)) upserted++;
      const stale = [...this.#index.ofCluster(caller).values()].filter((r) => !wanted.has(serviceKey(r.namespace, r.name)));
      for (const r of stale) if (cs.deleteExport(caller, r.namespace, r.name)) withdrawn++;
      const revision = await this.#commit(cs, track);
      return { revision, upserted, withdrawn, unchanged: wanted.size - upserted, ...(refused.length > 0 ? { refused } : {}) };
    });
  }

  /** The export guard (broker/api/export-guard.ts); a refusal is logged and nothing is stored. */
  #refusal(caller: string, spec: ExportSpec) {
    const refusal = exportRefusal(spec, this.#config.protectedNamespaces ?? DEFAULT_PROTECTED_NAMESPACES);
    if (refusal) this.#log.warn({ cluster: caller, namespace: spec.namespace, name: spec.name, code: refusal.code }, refusal.message);
    return refusal;
  }

  list(caller: string): { revision: number; exports: ExportRecord[] } {
    const exports = [...this.#index.ofCluster(caller).values()].sort((a, b) => (serviceKey(a.namespace, a.name) < serviceKey(b.namespace, b.name) ? -1 : 1));
    return { revision: this.#events.head, exports };
  }

  /** A renewal of an available cluster's lease is memory only; becoming available is a committed change. */
  async heartbeat(caller: string): Promise<LeaseResponse> {
    const now = this.#clock.now();
    const response = { leaseDurationSeconds: this.#config.leaseDurationSeconds, renewedAt: now.toISOString() };
    if (this.#leases.has(caller) && this.#leases.isAvailable(caller)) {
      this.#leases.renew(caller, now);
      return response;
    }
    return this.#serialize(async () => {
      if (this.#leases.has(caller) && this.#leases.isAvailable(caller)) {
        this.#leases.renew(caller, now);
        return response;
      }
      const cs = this.#changeSet();
      cs.clusterState({ cluster: caller, available: true, leaseRenewedAt: now.toISOString() });
      await this.#commit(cs, () => {
        this.#leases.renew(caller, now);
        this.#leases.setAvailable(caller, true);
      });
      this.#log.info({ cluster: caller }, 'cluster available');
      return response;
    });
  }

  /** Marks clusters whose lease ran out unavailable; returns them. Driven by a timer and by tests. */
  checkLeases(): Promise<string[]> {
    return this.#serialize(async () => {
      const expired = this.#leases.expired(this.#clock.now());
      if (expired.length === 0) return expired;
      const cs = this.#changeSet();
      for (const id of expired) cs.clusterState({ ...this.#leases.state(id), available: false });
      await this.#commit(cs, () => expired.forEach((id) => this.#leases.setAvailable(id, false)));
      this.#log.warn({ clusters: expired }, 'cluster lease expired; marked unavailable');
      return expired;
    });
  }

  /** A removed cluster: withdraw all its exports and announce it unavailable. Idempotent. */
  removeCluster(id: string): Promise<number> {
    this.#hub.closeOwner(id);
    return this.#serialize(() => this.#withdrawCluster(id, this.#leases.has(id)));
  }

  /** Call only inside #serialize. */
  async #withdrawCluster(id: string, announce: boolean): Promise<number> {
    const cs = this.#changeSet();
    for (const r of [...this.#index.ofCluster(id).values()]) cs.deleteExport(id, r.namespace, r.name);
    if (this.#advertisements.has(id)) cs.advertisement(id, null);
    if (announce) cs.clusterState({ ...this.#leases.state(id), available: false, removed: true }, { forget: true });
    const revision = await this.#commit(cs, () => {
      this.#leases.forget(id);
      this.#advertisements.delete(id);
    });
    if (!cs.empty) this.#log.info({ cluster: id, revision }, 'cluster removed; exports withdrawn');
    return revision;
  }

  /** Everything at one revision (no await between reads, so nothing interleaves). */
  snapshot(): CatalogSnapshot {
    return {
      revision: this.#events.head,
      services: this.#index.allMerged(),
      exports: this.#index.allExports(),
      clusters: this.#leases.states(),
      advertisements: this.listAdvertisements().advertisements,
    };
  }

  /** Stores the caller's advertisement; content equal to the stored one makes no event. */
  async putAdvertisement(caller: string, input: AdvertisementInput): Promise<ClusterAdvertisement> {
    if (input.cluster !== caller) throw new BrokerError('PLX_BROKER_FORBIDDEN', `cluster "${caller}" may write only its own advertisement`);
    return this.#serialize(async () => {
      const current = this.#advertisements.get(caller);
      if (current && sameAdvertisement(current, input)) return current;
      const cs = this.#changeSet();
      const track = this.#track(cs, caller);
      const record = cs.advertisement(caller, (revision) => advertisementRecord(input, this.#clock.now(), revision))!;
      await this.#commit(cs, () => {
        track?.();
        this.#advertisements.set(caller, record);
      });
      return record;
    });
  }

  listAdvertisements(): AdvertisementList {
    const advertisements = [...this.#advertisements.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
    return { revision: this.#events.head, advertisements };
  }

  /** Announces a revoked user on every watch stream (agents refuse it everywhere). */
  announceUserRevoked(name: string, revokedAt: Date): Promise<number> {
    return this.#serialize(() => {
      const cs = this.#changeSet();
      cs.userRevoked(name, revokedAt);
      return this.#commit(cs);
    });
  }

  /** Announces an RBAC baseline change on every watch stream (agents fetch their baseline). */
  announceRbac(rbacRevision: number): Promise<number> {
    return this.#serialize(() => {
      const cs = this.#changeSet();
      cs.rbac(rbacRevision);
      return this.#commit(cs);
    });
  }

  /** The snapshot as JSON bytes, serialized once per revision however many clients relist at once. */
  snapshotJson(): Buffer {
    const cached = this.#snapshotCache?.deref();
    if (cached && cached.revision === this.#events.head) return cached.body;
    const entry = { revision: this.#events.head, body: Buffer.from(JSON.stringify(this.snapshot())) };
    // Weak: a relist storm shares one buffer, but an idle broker does not keep it.
    this.#snapshotCache = new WeakRef(entry);
    return entry.body;
  }

  /** Streams events after `since` to `out` for cluster `caller`. */
  watch(out: WatchOutput, since: number, caller: string): void {
    this.#hub.add(out, since, caller);
  }

  /**
   * Starts the lease checker and the bookmark ticker. Called once the broker listens: the
   * restored leases' restart grace counts from here (leases.ts, restartGraceMs).
   */
  start(): void {
    if (this.#timers.length > 0) return;
    this.#leases.listening(this.#clock.now());
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => {
        Promise.resolve().then(fn).catch((err: unknown) => this.#log.error({ err }, 'catalog timer failed'));
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#config.leaseCheckIntervalMs, () => this.checkLeases());
    every(this.#config.watchBookmarkIntervalMs, () => this.#hub.tick());
  }

  /** Test seam for the bookmark timer. */
  tick(): void {
    this.#hub.tick();
  }

  /** Stops the timers and ends every watch stream cleanly. */
  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#hub.close();
  }
}

function checkOwner(caller: string, specs: readonly ExportSpec[]): void {
  const foreign = specs.find((s) => s.cluster !== caller);
  if (foreign) {
    throw new BrokerError('PLX_BROKER_FORBIDDEN', `cluster "${caller}" may not write exports of cluster "${foreign.cluster}"`);
  }
}
