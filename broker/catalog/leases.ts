// Per-cluster leases, in memory with the injected clock. A heartbeat renews; a lease not
// renewed within its duration expires and its cluster becomes unavailable until the next
// heartbeat. Only availability is persisted (by the catalog, as cluster events): renewal
// times are not, so a broker restart gives every available cluster a fresh lease instead
// of expiring them all for the time the broker itself was down. That grace counts from when
// the broker listens (listening()), not from when the process loaded its leases: on a busy
// machine the two were more than half a lease apart, and a cluster whose first renewal after
// the restart timed out was expired 2.4 s into a 3 s lease (test/e2e/broker-outage.test.ts).
import type { ClusterState } from '../api/catalog.ts';

/**
 * How long a lease restored at a broker restart runs, counted from when the broker listens:
 * one lease plus one failed agent renewal. An agent whose call raced the restart retries
 * within a third of the lease; that call may hang until the agent abandons it (half the
 * lease, agent/controllers/membership/lease-heartbeat.ts), and the retry after it (another
 * third) must still land within the grace: lease/3 + lease/2 + lease/3 + its own answer.
 * Two leases cover that with a sixth to spare; a cluster that really died is still
 * withdrawn within two leases of the broker's return.
 */
export function restartGraceMs(leaseMs: number): number {
  return 2 * leaseMs;
}

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

  /**
   * The broker listens: every lease not renewed since it was tracked (all of them, at a
   * restart) runs at least restartGraceMs from now.
   */
  listening(now: Date): void {
    const until = now.getTime() + restartGraceMs(this.#durationMs);
    for (const l of this.#leases.values()) if (l.renewedAt === null && l.expiresAt < until) l.expiresAt = until;
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
