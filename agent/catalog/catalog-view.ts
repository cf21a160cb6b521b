// The agent's in-memory copy of the broker catalog, following the catalog watch's
// snapshots and catalog changes (agent/broker-client/watch-dispatcher.ts): merged
// services, exports by (namespace, name, cluster) and cluster availability. It turns
// catalog changes into named domain events so controllers enqueue keys; it never calls
// an API server or the broker. State only changes through replace() and apply(): a broker
// outage leaves it untouched.
//
// It is also the importing side of the export guard (broker/api/export-guard.ts): what the
// broker relays is checked again before anything can import it (a broker from before the
// guard, or a compromised one). Services and exports in protected namespaces never enter
// the view; endpoint addresses in special ranges are dropped from the exports that carry
// them. Every refusal is reported through `onRefused`.
import { isDeepStrictEqual } from 'node:util';
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import type { CatalogSnapshot, ClusterState, ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { DEFAULT_PROTECTED_NAMESPACES, refusedAddressKind, type RefusedAddressKind } from '../../broker/api/export-guard.ts';
import type { CatalogChange } from '../broker-client/watch-dispatcher.ts';

export interface CatalogViewEvents {
  /** Anything that may change the import of namespace/name: its merged service, an export, or an exporter's availability. */
  serviceChanged: (namespace: string, name: string) => void;
  /** A cluster's availability flipped (or it appeared or vanished). */
  clusterAvailabilityChanged: (cluster: string, available: boolean) => void;
  /** A snapshot was applied (the first one, and every relist). */
  synced: (revision: number) => void;
  /** A cluster's advertisement (zone, region, probe URL, RTTs) appeared, changed or went away. */
  advertisementChanged: (cluster: string) => void;
}

/** The catalog watch as the view follows it (agent/broker-client/WatchDispatcher provides it). */
export interface CatalogFeed {
  on(event: 'snapshot', cb: (snapshot: CatalogSnapshot) => void): () => void;
  on(event: 'catalogChanged', cb: (change: CatalogChange) => void): () => void;
}

/** Something the broker relayed that this agent will not import. */
export type RefusedImport =
  | { readonly reason: 'protected-namespace'; readonly namespace: string; readonly name: string; readonly cluster?: string }
  | { readonly reason: RefusedAddressKind; readonly namespace: string; readonly name: string; readonly cluster: string; readonly address: string };

export interface CatalogViewOptions {
  /** Namespaces nothing is imported into; DEFAULT_PROTECTED_NAMESPACES when absent. */
  readonly protectedNamespaces?: readonly string[];
  /** Called for every service, export or endpoint address left out (log and count it). */
  readonly onRefused?: (r: RefusedImport) => void;
}

type Listeners = { [K in keyof CatalogViewEvents]: Set<CatalogViewEvents[K]> };

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

interface State {
  services: Map<string, MergedService>;
  /** ns/name → cluster → export */
  exports: Map<string, Map<string, ExportRecord>>;
  clusters: Map<string, ClusterState>;
  advertisements: Map<string, ClusterAdvertisement>;
}

const emptyState = (): State => ({ services: new Map(), exports: new Map(), clusters: new Map(), advertisements: new Map() });

export class CatalogView {
  readonly #protected: ReadonlySet<string>;
  readonly #onRefused: (r: RefusedImport) => void;
  #state: State = emptyState();
  /** Clusters whose removal the watch announced since the last snapshot. */
  readonly #removed = new Set<string>();
  #synced = false;
  #revision: number | undefined;
  readonly #listeners: Listeners = { serviceChanged: new Set(), clusterAvailabilityChanged: new Set(), synced: new Set(), advertisementChanged: new Set() };
  readonly #syncWaiters: (() => void)[] = [];

  constructor(o: CatalogViewOptions = {}) {
    this.#protected = new Set(o.protectedNamespaces ?? DEFAULT_PROTECTED_NAMESPACES);
    this.#onRefused = o.onRefused ?? (() => {});
  }

  /** True once the first snapshot was applied; before that, absence means "not known yet". */
  get synced(): boolean { return this.#synced; }
  get revision(): number | undefined { return this.#revision; }

  get(namespace: string, name: string): MergedService | undefined {
    return this.#state.services.get(keyOf(namespace, name));
  }

  /** Exports of namespace/name, ordered by cluster ID. */
  exportsOf(namespace: string, name: string): ExportRecord[] {
    const byCluster = this.#state.exports.get(keyOf(namespace, name));
    if (!byCluster) return [];
    return [...byCluster.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  }

  exportOf(namespace: string, name: string, cluster: string): ExportRecord | undefined {
    return this.#state.exports.get(keyOf(namespace, name))?.get(cluster);
  }

  cluster(id: string): ClusterState | undefined {
    return this.#state.clusters.get(id);
  }

  advertisement(cluster: string): ClusterAdvertisement | undefined {
    return this.#state.advertisements.get(cluster);
  }

  /** Every cluster's advertisement, by cluster ID. */
  advertisements(): ClusterAdvertisement[] {
    return [...this.#state.advertisements.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  }

  /** A cluster the broker has not told us about counts as available: absence is not an outage. */
  isAvailable(cluster: string): boolean {
    return this.#state.clusters.get(cluster)?.available ?? true;
  }

  /**
   * Whether `cluster` is a member as far as the broker told us: it holds a lease or an
   * advertisement. Removal takes both away. Before the first snapshot (an agent started
   * while the broker is down) every cluster not announced as removed counts: refusing peers'
   * probes then made them drop this cluster's endpoints, and a broker outage is not a
   * deletion. The broker itself refuses a removed cluster throughout.
   */
  isMember(cluster: string): boolean {
    if (this.#removed.has(cluster)) return false;
    if (!this.#synced) return true;
    return this.#state.clusters.has(cluster) || this.#state.advertisements.has(cluster);
  }

  /** Every namespace/name with a merged service or an export. */
  keys(): [string, string][] {
    const all = new Set([...this.#state.services.keys(), ...this.#state.exports.keys()]);
    return [...all].sort().map(splitKey);
  }

  /** The services `cluster` exports, as [namespace, name]. */
  keysExportedBy(cluster: string): [string, string][] {
    return this.#keysExportedBy(this.#state, cluster).map(splitKey);
  }

  on<K extends keyof CatalogViewEvents>(event: K, listener: CatalogViewEvents[K]): () => void {
    (this.#listeners[event] as Set<CatalogViewEvents[K]>).add(listener);
    return () => { (this.#listeners[event] as Set<CatalogViewEvents[K]>).delete(listener); };
  }

  /** The consumer interface the controllers declare. */
  onChange(cb: (namespace: string, name: string) => void): void {
    this.on('serviceChanged', cb);
  }

  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** Applies the feed's snapshots and catalog changes from now on; returns the unsubscribe. */
  follow(feed: CatalogFeed): () => void {
    const off = [feed.on('snapshot', (s) => this.replace(s)), feed.on('catalogChanged', (c) => this.apply(c))];
    return () => off.forEach((f) => f());
  }

  replace(snapshot: CatalogSnapshot): void {
    const next = emptyState();
    for (const s of snapshot.services) if (this.#admitService(s.namespace, s.name)) next.services.set(keyOf(s.namespace, s.name), s);
    for (const e of snapshot.exports) {
      const admitted = this.#admitExport(e);
      if (admitted) mapOf(next.exports, keyOf(e.namespace, e.name)).set(e.cluster, admitted);
    }
    for (const c of snapshot.clusters) next.clusters.set(c.cluster, c);
    for (const a of snapshot.advertisements ?? []) next.advertisements.set(a.cluster, a);
    const prev = this.#state;
    this.#state = next;
    this.#removed.clear();
    this.#revision = snapshot.revision;
    const wasSynced = this.#synced;
    this.#synced = true;
    this.#emitDiff(prev, next, wasSynced);
    this.#emit('synced', snapshot.revision);
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  apply(event: CatalogChange): void {
    this.#revision = event.revision;
    switch (event.type) {
      case 'service':
        if (!this.#admitService(event.namespace, event.name, event.service !== null)) return;
        return this.#applyService(event.namespace, event.name, event.service);
      case 'export':
        if (!this.#admitService(event.namespace, event.name, event.export !== null, event.cluster)) return;
        return this.#applyExport(event.namespace, event.name, event.cluster, event.export && this.#admitExport(event.export));
      case 'cluster': return this.#applyCluster(event.state);
      case 'advertisement': return this.#applyAdvertisement(event.cluster, event.advertisement);
    }
  }

  /** False for a protected namespace (reported when something would have been imported). */
  #admitService(namespace: string, name: string, report = true, cluster?: string): boolean {
    if (!this.#protected.has(namespace)) return true;
    if (report) this.#onRefused({ reason: 'protected-namespace', namespace, name, ...(cluster ? { cluster } : {}) });
    return false;
  }

  /** The export without special-range addresses (endpoints left with none are dropped); null for a protected namespace. */
  #admitExport(e: ExportRecord): ExportRecord | null {
    if (!this.#admitService(e.namespace, e.name, true, e.cluster)) return null;
    let refused = false;
    const endpoints: ExportRecord['endpoints'] = [];
    for (const ep of e.endpoints) {
      const addresses = ep.addresses.filter((address) => {
        const kind = refusedAddressKind(address);
        if (kind) this.#onRefused({ reason: kind, namespace: e.namespace, name: e.name, cluster: e.cluster, address });
        return kind === undefined;
      });
      if (addresses.length !== ep.addresses.length) refused = true;
      if (addresses.length > 0) endpoints.push(addresses.length === ep.addresses.length ? ep : { ...ep, addresses });
    }
    return refused ? { ...e, endpoints } : e;
  }

  #applyService(namespace: string, name: string, service: MergedService | null): void {
    const key = keyOf(namespace, name);
    const prev = this.#state.services.get(key);
    if (service) this.#state.services.set(key, service);
    else this.#state.services.delete(key);
    if (!isDeepStrictEqual(prev, service ?? undefined)) this.#emit('serviceChanged', namespace, name);
  }

  #applyExport(namespace: string, name: string, cluster: string, record: ExportRecord | null): void {
    const key = keyOf(namespace, name);
    const byCluster = this.#state.exports.get(key);
    const prev = byCluster?.get(cluster);
    if (record) mapOf(this.#state.exports, key).set(cluster, record);
    else if (byCluster) {
      byCluster.delete(cluster);
      if (byCluster.size === 0) this.#state.exports.delete(key);
    }
    if (!isDeepStrictEqual(prev, record ?? undefined)) this.#emit('serviceChanged', namespace, name);
  }

  #applyCluster(state: ClusterState): void {
    const wasAvailable = this.isAvailable(state.cluster);
    this.#state.clusters.set(state.cluster, state);
    // Removed until it rejoins (its next lease); the broker's next snapshot leaves it out.
    if (state.removed) this.#removed.add(state.cluster);
    else this.#removed.delete(state.cluster);
    if (wasAvailable === state.available) return;
    this.#emit('clusterAvailabilityChanged', state.cluster, state.available);
    for (const key of this.#keysExportedBy(this.#state, state.cluster)) this.#emit('serviceChanged', ...splitKey(key));
  }

  #applyAdvertisement(cluster: string, ad: ClusterAdvertisement | null): void {
    if (ad) this.#state.advertisements.set(cluster, ad);
    else this.#state.advertisements.delete(cluster);
    this.#emit('advertisementChanged', cluster);
  }

  #keysExportedBy(state: State, cluster: string): string[] {
    return [...state.exports].filter(([, byCluster]) => byCluster.has(cluster)).map(([key]) => key);
  }

  /** After a relist: every key whose service, exports or exporters' availability differ, including vanished ones. */
  #emitDiff(prev: State, next: State, wasSynced: boolean): void {
    const changed = new Set<string>();
    for (const key of new Set([...prev.services.keys(), ...next.services.keys()])) {
      if (!isDeepStrictEqual(prev.services.get(key), next.services.get(key))) changed.add(key);
    }
    for (const key of new Set([...prev.exports.keys(), ...next.exports.keys()])) {
      if (!isDeepStrictEqual(prev.exports.get(key), next.exports.get(key))) changed.add(key);
    }
    const availability = (s: State, c: string) => s.clusters.get(c)?.available ?? true;
    for (const cluster of new Set([...prev.clusters.keys(), ...next.clusters.keys()])) {
      const before = availability(prev, cluster);
      const after = availability(next, cluster);
      if (before === after) continue;
      if (wasSynced) this.#emit('clusterAvailabilityChanged', cluster, after);
      for (const key of [...this.#keysExportedBy(prev, cluster), ...this.#keysExportedBy(next, cluster)]) changed.add(key);
    }
    for (const key of [...changed].sort()) this.#emit('serviceChanged', ...splitKey(key));
    for (const cluster of new Set([...prev.advertisements.keys(), ...next.advertisements.keys()])) {
      if (!isDeepStrictEqual(prev.advertisements.get(cluster), next.advertisements.get(cluster))) this.#emit('advertisementChanged', cluster);
    }
  }

  #emit<K extends keyof CatalogViewEvents>(event: K, ...args: Parameters<CatalogViewEvents[K]>): void {
    for (const listener of this.#listeners[event]) (listener as (...a: Parameters<CatalogViewEvents[K]>) => void)(...args);
  }
}

function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (!inner) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}
