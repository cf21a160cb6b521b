// This agent's view of networks for the import controller: routes from the advertisements
// (catalog), health from topology (lease and probes, the same health that fails endpoints
// over), and per-service change events when a cluster's network or gateway changes (an
// advertisement event names the cluster; only the services it exports can move).
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import { advertisedNetwork, clusterRoute, type ClusterRoute } from './cluster-route.ts';
import type { GatewayTunnels } from './gateway-tunnels.ts';
import type { ImportNetwork } from './import-network.ts';

export interface NetworkCatalog {
  advertisement(cluster: string): ClusterAdvertisement | undefined;
  advertisements(): ClusterAdvertisement[];
  isAvailable(cluster: string): boolean;
  keysExportedBy(cluster: string): [string, string][];
  on(event: 'advertisementChanged', listener: (cluster: string) => void): () => void;
}

export interface NetworkViewOptions {
  readonly localCluster: string;
  readonly localNetwork: string;
  readonly catalog: NetworkCatalog;
  /** Topology's health per cluster; without it, lease availability alone. */
  readonly healthy?: ((cluster: string) => boolean) | undefined;
  /** The local gateway's tunnels; undefined when this cluster runs no gateway. */
  readonly tunnels?: GatewayTunnels | undefined;
}

export class NetworkView implements ImportNetwork {
  readonly #o: NetworkViewOptions;

  constructor(o: NetworkViewOptions) {
    this.#o = o;
  }

  get localNetwork(): string {
    return this.#o.localNetwork;
  }

  get tunnels(): GatewayTunnels | undefined {
    return this.#o.tunnels;
  }

  route(cluster: string): ClusterRoute {
    const { catalog } = this.#o;
    return clusterRoute({
      localCluster: this.#o.localCluster, localNetwork: this.#o.localNetwork, hasLocalGateway: this.#o.tunnels !== undefined,
      advertisement: (c) => catalog.advertisement(c),
      healthy: this.#o.healthy ?? ((c) => catalog.isAvailable(c)),
    }, cluster);
  }

  /** Pod addresses of `cluster` work here as they are (same network): what headless answers may hold. */
  reachesDirectly(cluster: string): boolean {
    return this.route(cluster).kind === 'direct';
  }

  /** The networks other members advertise, besides this cluster's (sorted). */
  otherNetworks(): string[] {
    const nets = new Set(this.#o.catalog.advertisements().flatMap((a) => advertisedNetwork(a) ?? []));
    nets.delete(this.#o.localNetwork);
    return [...nets].sort();
  }

  /** Calls `cb` whenever otherNetworks() changes. */
  onNetworksChange(cb: () => void): () => void {
    let last = this.otherNetworks().join(',');
    return this.#o.catalog.on('advertisementChanged', () => {
      const now = this.otherNetworks().join(',');
      if (now === last) return;
      last = now;
      cb();
    });
  }

  /** Calls `cb` for every service a cluster exports whenever that cluster's network or gateway changes. */
  onChange(cb: (namespace: string, name: string) => void): () => void {
    // Per subscriber: the import controller and the DNS feeder each see every change.
    const seen = new Map<string, string>();
    return this.#o.catalog.on('advertisementChanged', (cluster) => {
      const ad = this.#o.catalog.advertisement(cluster);
      const sig = `${ad?.network ?? ''}|${ad?.gateway ?? ''}`;
      if (seen.get(cluster) === sig) return;
      seen.set(cluster, sig);
      for (const [namespace, name] of this.#o.catalog.keysExportedBy(cluster)) cb(namespace, name);
    });
  }
}
