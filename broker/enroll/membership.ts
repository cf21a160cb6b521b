// Admin view of clusterset membership: list members, remove (revoke) one. Removal takes
// effect on the next request, because authentication reads the store every time.
import type { ClusterInfo } from '../api/types.ts';
import type { Clock } from '../clock.ts';
import { BrokerError } from '../errors.ts';
import type { ClusterRecord, ClusterStore } from './enroll-store.ts';

export function toClusterInfo(c: ClusterRecord): ClusterInfo {
  return {
    id: c.id,
    state: c.state,
    joinedAt: c.joinedAt.toISOString(),
    removedAt: c.removedAt?.toISOString() ?? null,
    certificateSerial: c.certificateSerial,
    certificateNotAfter: c.certificateNotAfter?.toISOString() ?? null,
    labels: { ...c.labels },
  };
}

export class Membership {
  readonly #store: Pick<ClusterStore, 'getCluster' | 'listClusters' | 'removeCluster'>;
  readonly #clock: Clock;
  readonly #onRemoved: ((id: string) => unknown) | undefined;

  /** `onRemoved` runs after every successful removal (the catalog withdraws the cluster's exports). */
  constructor(deps: { store: Pick<ClusterStore, 'getCluster' | 'listClusters' | 'removeCluster'>; clock: Clock; onRemoved?: ((id: string) => unknown) | undefined }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#onRemoved = deps.onRemoved;
  }

  async list(): Promise<ClusterInfo[]> {
    return (await this.#store.listClusters()).map(toClusterInfo);
  }

  async get(id: string): Promise<ClusterInfo> {
    const c = await this.#store.getCluster(id);
    if (!c) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no cluster "${id}"`);
    return toClusterInfo(c);
  }

  /** Idempotent for known clusters; an unknown ID is PLX_BROKER_NOT_FOUND (likely a typo). */
  async remove(id: string): Promise<ClusterInfo> {
    const c = await this.#store.removeCluster(id, this.#clock.now());
    if (!c) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no cluster "${id}"`);
    await this.#onRemoved?.(id);
    return toClusterInfo(c);
  }
}
