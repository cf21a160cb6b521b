// Leader election among broker replicas on leases and transactions (etcd's own recipe, the
// one its v3election service runs server-side): each candidate puts `<prefix><lease id>`
// bound to its lease, if absent; the candidate whose key has the lowest create_revision
// leads; every other one watches only the key just before its own (no thundering herd) and
// looks again when that key is deleted: by resign(), revocation, or the lease expiring
// after its holder died. Leadership is a key and its create_revision, so a leader's writes
// can be fenced: `leadership.compare` in a txn fails once anyone else could lead.
//
// Why not the v3election API through the gateway: Campaign is one HTTP request that hangs
// until this replica leads; a broken connection leaves it unknown whether it still
// campaigns, and it cannot be cancelled. These primitives are already tested and
// validated here, and a campaign survives the loss of an etcd member like any watch does.
import { BrokerError } from '../errors.ts';
import type { Compare, EtcdClient, KeyValue } from './etcd-client.ts';
import type { EtcdLease } from './etcd-lease.ts';

export interface Leadership {
  readonly key: string;
  readonly createRevision: number;
  /** Add to a txn's compares: it holds only while this leadership does. */
  readonly compare: Compare;
}

export interface LeaderInfo {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly lease: string;
}

export class EtcdElection {
  readonly prefix: string;
  readonly #client: EtcdClient;

  /** prefix ends with '/': candidates' keys are prefix + lease id. */
  constructor(client: EtcdClient, prefix: string) {
    if (!prefix.endsWith('/')) throw new BrokerError('PLX_BROKER_ETCD_CONFIG_INVALID', `election prefix must end with '/', got ${JSON.stringify(prefix)}`);
    this.#client = client;
    this.prefix = prefix;
  }

  /** The current leader, if any (the candidate key with the lowest create_revision). */
  async leader(): Promise<LeaderInfo | undefined> {
    const { kvs } = await this.#client.range(this.prefix);
    const first = lowest(kvs);
    return first && { key: first.key, value: first.value.toString('utf8'), createRevision: first.createRevision, lease: first.lease };
  }

  /**
   * Becomes a candidate with `value` (e.g. the replica's address) and resolves once this
   * replica leads. Rejects with PLX_BROKER_ETCD_LEASE_LOST if the lease goes meanwhile, and
   * with the signal's reason when aborted (the key is then deleted).
   */
  async campaign(lease: EtcdLease, value: string, signal?: AbortSignal): Promise<Leadership> {
    const key = `${this.prefix}${lease.id}`;
    const t = await this.#client.txn({
      compare: [{ key, target: 'create', value: 0 }],
      success: [{ put: { key, value, lease: lease.id } }],
      failure: [{ get: { key } }],
    });
    const createRevision = t.succeeded ? t.revision : t.gets[0]?.[0]?.createRevision;
    if (!createRevision) throw new BrokerError('PLX_BROKER_ETCD_LEASE_LOST', `election key ${key} vanished while campaigning`);
    if (!t.succeeded && t.gets[0]?.[0]?.value.toString('utf8') !== value) {
      // Same lease campaigning again with a new value: keep the place in line, update the value.
      await this.#client.txn({ compare: [{ key, target: 'create', value: createRevision }], success: [{ put: { key, value, lease: lease.id } }] });
    }
    try {
      for (;;) {
        signal?.throwIfAborted();
        if (!lease.alive) throw new BrokerError('PLX_BROKER_ETCD_LEASE_LOST', `etcd lease ${lease.id} lost while campaigning`);
        const { kvs, revision } = await this.#client.range(this.prefix);
        if (!kvs.some((kv) => kv.key === key && kv.createRevision === createRevision)) {
          throw new BrokerError('PLX_BROKER_ETCD_LEASE_LOST', `election key ${key} was deleted (lease expired or revoked)`);
        }
        const ahead = kvs.filter((kv) => kv.createRevision < createRevision);
        if (ahead.length === 0) return { key, createRevision, compare: { key, target: 'create', value: createRevision } };
        const predecessor = ahead.reduce((a, b) => (b.createRevision > a.createRevision ? b : a));
        await this.#waitDeleted(predecessor.key, revision + 1, lease, signal);
      }
    } catch (err) {
      if (signal?.aborted) await this.#client.txn({ compare: [{ key, target: 'create', value: createRevision }], success: [{ delete: { key } }] }).catch(() => {});
      throw err;
    }
  }

  /** Gives up leadership (or candidacy): deletes the key if it is still this one. */
  async resign(leadership: Leadership): Promise<void> {
    await this.#client.txn({ compare: [leadership.compare], success: [{ delete: { key: leadership.key } }] });
  }

  /**
   * Calls onLeader with the leader now and after every change (undefined: none). Each
   * change is read again from etcd, never taken from the event. Returns a stop function.
   */
  observe(onLeader: (leader: LeaderInfo | undefined) => void, onError: (err: BrokerError) => void): () => void {
    let last: string | undefined = '';
    let stopped = false;
    const report = async (): Promise<number> => {
      const { kvs, revision } = await this.#client.range(this.prefix);
      const l = lowest(kvs);
      const id = l ? `${l.key}@${l.createRevision}:${l.value.toString('base64')}` : undefined;
      if (id !== last && !stopped) {
        last = id;
        onLeader(l && { key: l.key, value: l.value.toString('utf8'), createRevision: l.createRevision, lease: l.lease });
      }
      return revision;
    };
    let watch: ReturnType<EtcdClient['watch']> | undefined;
    void report().then((revision) => {
      if (stopped) return;
      watch = this.#client.watch({
        key: this.prefix, prefix: true, fromRevision: revision + 1,
        onEvents: async () => { await report(); },
        onError: (err) => { if (!stopped) onError(err); },
      });
    }, (err: unknown) => onError(err instanceof BrokerError ? err : new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', String(err), { cause: err })));
    return () => { stopped = true; watch?.close(); };
  }

  /** Resolves when key is deleted at or after fromRevision (or is already gone). */
  async #waitDeleted(key: string, fromRevision: number, lease: EtcdLease, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      // Losing our own lease while in line ends the wait: our key is gone with it.
      const removeLost = lease.onLost((err) => finish(err));
      const watch = this.#client.watch({
        key, fromRevision,
        onEvents: (events) => { if (events.some((e) => e.type === 'delete')) finish(); },
        onError: (err) => finish(err),
      });
      const onAbort = (): void => finish(signal?.reason as Error);
      function finish(err?: Error): void {
        watch.close();
        removeLost();
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function lowest(kvs: readonly KeyValue[]): KeyValue | undefined {
  return kvs.reduce<KeyValue | undefined>((a, b) => (!a || b.createRevision < a.createRevision ? b : a), undefined);
}
