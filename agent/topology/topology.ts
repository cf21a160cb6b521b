// What this agent knows about where clusters are and how healthy they are, assembled for
// the ranking: zone and region from advertisements (this cluster's own from its config),
// RTT and probe health from the Prober, lease availability from the catalog. It keeps the
// Prober's targets in step with the advertised probe URLs, turns changes that can reorder
// answers (health flips, RTT moving to another band, a new zone) into per-service change
// events, and implements the DNS server's EndpointOrder seam.
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { importPolicy } from './import-ranking.ts';
import type { ServicePolicy } from './policy.ts';
import type { ProbeState } from './prober.ts';
import type { ProbeTarget } from './probe-client.ts';
import { rankEndpoints, type ClusterView, type RankableEndpoint, type RankingContext } from './ranking.ts';

export interface LocalCluster {
  readonly cluster: string;
  readonly zone?: string | undefined;
  readonly region?: string | undefined;
}

/** The catalog as topology reads it (agent/catalog/CatalogView provides it). */
export interface TopologyCatalog {
  get(namespace: string, name: string): MergedService | undefined;
  exportOf(namespace: string, name: string, cluster: string): ExportRecord | undefined;
  isAvailable(cluster: string): boolean;
  /** A member now (the probe endpoint refuses everyone else, removed clusters included). */
  isMember(cluster: string): boolean;
  advertisement(cluster: string): ClusterAdvertisement | undefined;
  advertisements(): ClusterAdvertisement[];
  /** The services a cluster exports: the only ones whose ranking a change to it can move. */
  keysExportedBy(cluster: string): [string, string][];
  on(event: 'advertisementChanged' | 'clusterAvailabilityChanged', listener: (cluster: string) => void): () => void;
}

/** The prober as topology reads it (Prober provides it). */
export interface TopologyProber {
  setTargets(targets: readonly ProbeTarget[]): void;
  state(cluster: string): ProbeState;
  latencyMs(cluster: string): number | undefined;
  onChange(listener: (cluster: string) => void): () => void;
}

export interface TopologyOptions {
  readonly local: LocalCluster;
  readonly catalog: TopologyCatalog;
  readonly prober: TopologyProber;
  readonly latencyBandMs: number;
}

type ServiceListener = (namespace: string, name: string) => void;

export class Topology {
  readonly #o: TopologyOptions;
  readonly #listeners = new Set<ServiceListener>();
  /** What the ranking last saw per cluster, to emit only changes that can reorder answers. */
  readonly #seen = new Map<string, string>();
  readonly #unsubscribe: (() => void)[] = [];
  /** RTT held per cluster: it moves only when the smoothed RTT leaves it by half a band (hysteresis). */
  readonly #heldRtt = new Map<string, number>();

  constructor(o: TopologyOptions) {
    this.#o = o;
  }

  get local(): LocalCluster {
    return this.#o.local;
  }

  /** Follows advertisements, availability and probe results. */
  start(): void {
    const { catalog, prober } = this.#o;
    this.#syncTargets();
    this.#unsubscribe.push(
      catalog.on('advertisementChanged', (c) => {
        this.#syncTargets();
        this.#check(c);
      }),
      catalog.on('clusterAvailabilityChanged', (c) => this.#check(c)),
      prober.onChange((c) => this.#check(c)),
    );
  }

  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  view(cluster: string): ClusterView {
    const ad = this.#o.catalog.advertisement(cluster);
    const probe = this.#o.prober.state(cluster);
    return {
      zone: ad?.zone, region: ad?.region,
      latencyMs: this.#rtt(cluster),
      healthy: this.#o.catalog.isAvailable(cluster) && probe !== 'down',
    };
  }

  /** Sample and hold, so an RTT hovering at a band edge does not reorder answers on every probe. */
  #rtt(cluster: string): number | undefined {
    const raw = this.#o.prober.latencyMs(cluster);
    if (raw === undefined) {
      this.#heldRtt.delete(cluster);
      return undefined;
    }
    const held = this.#heldRtt.get(cluster);
    if (held !== undefined && Math.abs(raw - held) <= this.#o.latencyBandMs / 2) return held;
    this.#heldRtt.set(cluster, raw);
    return raw;
  }

  context(): RankingContext {
    const { local, latencyBandMs } = this.#o;
    return { localCluster: local.cluster, localZone: local.zone, localRegion: local.region, latencyBandMs, cluster: (id) => this.view(id) };
  }

  /** The policy of namespace/name, by the import controller's rule (importPolicy). */
  policyOf(namespace: string, name: string): ServicePolicy {
    return importPolicy(this.#o.catalog.get(namespace, name), (c) => this.#o.catalog.exportOf(namespace, name, c));
  }

  /** EndpointOrder (agent/dns): nearest first from this cluster's zone; may filter. */
  order<E extends RankableEndpoint>(namespace: string, name: string, endpoints: readonly E[]): readonly E[] {
    return rankEndpoints(this.context(), this.policyOf(namespace, name), this.#o.local.zone, endpoints).map((r) => r.endpoint);
  }

  onChange(cb: ServiceListener): void {
    this.#listeners.add(cb);
  }

  #syncTargets(): void {
    const targets = this.#o.catalog.advertisements()
      .filter((a) => a.cluster !== this.#o.local.cluster && a.probeUrl)
      .map((a) => ({ cluster: a.cluster, url: a.probeUrl! }));
    this.#o.prober.setTargets(targets);
  }

  #check(cluster: string): void {
    const v = this.view(cluster);
    const band = v.latencyMs === undefined ? 'none' : String(Math.floor(v.latencyMs / this.#o.latencyBandMs));
    const sig = `${v.healthy}|${band}|${v.zone ?? ''}|${v.region ?? ''}`;
    if (this.#seen.get(cluster) === sig) return;
    this.#seen.set(cluster, sig);
    for (const [namespace, name] of this.#o.catalog.keysExportedBy(cluster)) for (const l of this.#listeners) l(namespace, name);
  }
}
