// Per-cluster leases, in memory with the injected clock. A heartbeat renews; a lease not
// renewed within its duration expires and its cluster becomes unavailable until the next
// heartbeat. Only availability is persisted (by the catalog, as cluster events): renewal
// times are not, so a broker restart gives every available cluster a fresh full lease
// instead of expiring them all for the time the broker itself was down.
import type { ClusterState } from '../api/catalog.ts';

interface Lease {
  available: boolean;
  renewedAt: Date | null;
  expiresAt: number;
}

export class LeaseTracker {
  readonly #durationMs: number;
  readonly #leases = new Map<string, Lease>();

  constructor(o: { durationSeconds: number }) {
    this.#durationMs = o.durationSeconds * 1000;
  }

  has(cluster: string): boolean {
    return this.#leases.has(cluster);
  }

  isAvailable(cluster: string): boolean {
    return this.#leases.get(cluster)?.available ?? false;
  }

  /** Starts tracking with a full grace period (no renewal yet). */
  track(cluster: string, available: boolean, now: Date): void {
    this.#leases.set(cluster, { available, renewedAt: null, expiresAt: now.getTime() + this.#durationMs });
  }

  /** Renews (tracking the cluster if new); availability changes only through setAvailable. */
  renew(cluster: string, now: Date): void {
    const l = this.#leases.get(cluster);
    if (!l) {
      this.#leases.set(cluster, { available: false, renewedAt: now, expiresAt: now.getTime() + this.#durationMs });
      return;
    }
    l.renewedAt = now;
    l.expiresAt = now.getTime() + this.#durationMs;
  }

  setAvailable(cluster: string, available: boolean): void {
    const l = this.#leases.get(cluster);
    if (l) l.available = available;
  }

  forget(cluster: string): void {
    this.#leases.delete(cluster);
  }

  /** Available clusters whose lease has run out at `now`, sorted. */
  expired(now: Date): string[] {
    const t = now.getTime();
    const out: string[] = [];
    for (const [cluster, l] of this.#leases) if (l.available && l.expiresAt <= t) out.push(cluster);
    return out.sort();
  }

  state(cluster: string): ClusterState {
    const l = this.#leases.get(cluster);
    return { cluster, available: l?.available ?? false, leaseRenewedAt: l?.renewedAt?.toISOString() ?? null };
  }

  states(): ClusterState[] {
    return [...this.#leases.keys()].sort().map((c) => this.state(c));
  }
}
