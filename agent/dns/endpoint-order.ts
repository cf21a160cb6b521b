// The seam through which answers get their endpoint order, declared here by its consumer
// (the feeder). Nearest-instance ranking (agent/topology) implements it: nearest first,
// and it may filter (e.g. a `local-only` policy). The default keeps a stable order.

/** What the feeder hands over per endpoint; implementations must return a subset of these objects. */
export interface OrderableEndpoint {
  readonly cluster: string;
  readonly addresses: readonly string[];
  readonly hostname?: string | undefined;
  readonly zone?: string | undefined;
}

export interface EndpointOrder {
  /** Order (and optionally filter) the ready endpoints of namespace/name across the clusterset. */
  order<E extends OrderableEndpoint>(namespace: string, name: string, endpoints: readonly E[]): readonly E[];
  /** Lets the feeder rebuild namespace/name when the ranking changes (e.g. new RTT figures). */
  onChange?(cb: (namespace: string, name: string) => void): void;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Stable: by cluster ID, then hostname, then first address. */
export const stableEndpointOrder: EndpointOrder = {
  order(_namespace, _name, endpoints) {
    return [...endpoints].sort((a, b) => compare(a.cluster, b.cluster)
      || compare(a.hostname ?? '', b.hostname ?? '') || compare(a.addresses[0] ?? '', b.addresses[0] ?? ''));
  },
};
