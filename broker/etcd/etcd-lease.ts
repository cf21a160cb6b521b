// One lease held alive: granted once, renewed every third of its TTL (through any member;
// a renewal is idempotent, so it is retried freely), and declared lost when etcd says it
// is gone or when no renewal succeeded for a whole TTL: by then etcd has expired it and
// deleted every key bound to it. Loss is reported once, through onLost; the holder (the
// election, a replica's presence key) grants a new lease. The clock is injected.
import { BrokerError } from '../errors.ts';
import type { EtcdClient } from './etcd-client.ts';

export interface EtcdLeaseOptions {
  readonly ttlSeconds: number;
  readonly onLost: (err: BrokerError) => void;
  readonly now?: () => number;
}

export class EtcdLease {
  readonly id: string;
  readonly ttlSeconds: number;
  readonly #client: EtcdClient;
  readonly #o: EtcdLeaseOptions;
  readonly #now: () => number;
  #lastRenewed: number;
  #timer: NodeJS.Timeout | undefined;
  #state: 'alive' | 'lost' | 'revoked' = 'alive';
  #lostListeners = new Set<(err: BrokerError) => void>();

  private constructor(client: EtcdClient, id: string, ttlSeconds: number, o: EtcdLeaseOptions) {
    this.#client = client;
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#lastRenewed = this.#now();
  }

  static async grant(client: EtcdClient, o: EtcdLeaseOptions): Promise<EtcdLease> {
    if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 2) {
      throw new BrokerError('PLX_BROKER_ETCD_CONFIG_INVALID', `etcd lease TTL must be an integer ≥ 2 s, got ${o.ttlSeconds}`);
    }
    const { id, ttlSeconds } = await client.leaseGrant(o.ttlSeconds);
    const lease = new EtcdLease(client, id, ttlSeconds, o);
    lease.#schedule();
    return lease;
  }

  get alive(): boolean { return this.#state === 'alive'; }

  #schedule(): void {
    if (this.#state !== 'alive') return;
    this.#timer = setTimeout(() => void this.#renew(), (this.ttlSeconds * 1000) / 3);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#state !== 'alive') return;
    try {
      await this.#client.leaseKeepAlive(this.id);
      this.#lastRenewed = this.#now();
    } catch (err) {
      const e = err instanceof BrokerError ? err : new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', String(err), { cause: err });
      if (e.code === 'PLX_BROKER_ETCD_LEASE_LOST') return this.#lose(e);
      if (this.#now() - this.#lastRenewed >= this.ttlSeconds * 1000) {
        return this.#lose(new BrokerError('PLX_BROKER_ETCD_LEASE_LOST', `etcd lease ${this.id}: not renewed for its TTL of ${this.ttlSeconds} s (${e.message})`, { cause: e }));
      }
    }
    this.#schedule();
  }

  #lose(err: BrokerError): void {
    if (this.#state !== 'alive') return;
    this.#state = 'lost';
    clearTimeout(this.#timer);
    this.#o.onLost(err);
    for (const fn of this.#lostListeners) fn(err);
    this.#lostListeners.clear();
  }

  /** Also calls fn when the lease is lost (for waits that must end then); returns the remover. */
  onLost(fn: (err: BrokerError) => void): () => void {
    this.#lostListeners.add(fn);
    return () => { this.#lostListeners.delete(fn); };
  }

  /** Stops renewing and revokes the lease (its keys go at once). Idempotent. */
  async revoke(): Promise<void> {
    const wasAlive = this.#state === 'alive';
    this.#state = 'revoked';
    clearTimeout(this.#timer);
    if (wasAlive) await this.#client.leaseRevoke(this.id);
  }

  /** Stops renewing without revoking: the lease expires after its TTL (a process that dies). */
  abandon(): void {
    this.#state = 'revoked';
    clearTimeout(this.#timer);
  }
}
