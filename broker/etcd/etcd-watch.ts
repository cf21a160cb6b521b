// A watch on a key or prefix from a revision that survives the loss of the member it runs
// on: when the stream breaks it opens again on another member from the revision after the
// last one delivered, and drops anything at or below it, so the consumer sees every event
// once, in revision order, with no gap. Progress notifications (etcd's bookmarks: "every
// event up to revision R was sent") move that revision too. A start revision that
// compaction removed ends the watch with PLX_BROKER_ETCD_COMPACTED: the consumer relists.
//
// The stream asks etcd to cancel it when its member loses the leader (gRPC metadata
// hasleader, sent through the gateway as a Grpc-Metadata- header): a member cut off from
// the others would otherwise keep the watch open and silent.
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerError } from '../errors.ts';
import type { EtcdTransport } from './etcd-transport.ts';
import { b64, prefixEnd, watchMessageSchema, type KeyValue } from './etcd-wire.ts';

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;                 // for a delete: key and modRevision (the delete's)
}

export interface EtcdWatchOptions {
  readonly key: string;
  readonly prefix?: boolean;             // every key under `key` (default: that key only)
  /** First revision delivered; 0 or absent: from now. */
  readonly fromRevision?: number;
  /** Events of one stream message, in order; the watch waits for the returned promise. If it
   *  throws, the stream is reopened and the same events come again (level-based retry). */
  readonly onEvents: (events: readonly WatchEvent[], revision: number) => void | Promise<void>;
  /** Every event up to `revision` has been delivered (a progress notification). */
  readonly onProgress?: (revision: number) => void;
  /** The stream broke and is being opened again (not terminal). */
  readonly onDisconnect?: (err: BrokerError) => void;
  /** The watch ended for good: PLX_BROKER_ETCD_COMPACTED, _BAD_RESPONSE or _REQUEST_REJECTED. */
  readonly onError: (err: BrokerError) => void;
  /** Ask etcd for progress notifications (its --watch-progress-notify-interval). Default true. */
  readonly progressNotify?: boolean;
  /** Reopen the stream when nothing (not even progress) arrives for this long; 0: never. */
  readonly idleTimeoutMs?: number;
  /** Pause between reopen attempts, growing to 10× this. Default 100 ms. */
  readonly retryMs?: number;
}

const MAX_LINE = 64 * 2 ** 20;

export class EtcdWatch {
  readonly #transport: EtcdTransport;
  readonly #o: EtcdWatchOptions;
  #next: number;                         // the lowest revision not yet delivered (0: unknown)
  #closed = false;
  #exactStart = false;
  #body: Readable | undefined;
  readonly done: Promise<void>;

  constructor(transport: EtcdTransport, o: EtcdWatchOptions) {
    this.#transport = transport;
    this.#o = o;
    this.#next = o.fromRevision ?? 0;
    this.done = this.#run();
  }

  /** The next revision the watch will deliver (after everything delivered so far). */
  get nextRevision(): number { return this.#next; }

  close(): void {
    this.#closed = true;
    this.#body?.destroy();
  }

  async #run(): Promise<void> {
    let failures = 0;
    const retryMs = this.#o.retryMs ?? 100;
    while (!this.#closed) {
      let err: BrokerError | undefined;
      try {
        const delivered = await this.#once();
        if (delivered) failures = 0;
      } catch (e) {
        err = e instanceof BrokerError ? e : new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd watch: ${(e as Error).message}`, { cause: e });
      }
      if (this.#closed) return;
      if (err && err.code !== 'PLX_BROKER_ETCD_UNAVAILABLE') {
        this.#closed = true;
        this.#o.onError(err);
        return;
      }
      this.#o.onDisconnect?.(err ?? new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', 'etcd watch: the stream ended'));
      failures++;
      await delay(Math.min(retryMs * failures, retryMs * 10));
    }
  }

  /** One stream, until it ends; true if it got as far as "created". */
  async #once(): Promise<boolean> {
    const create = {
      key: b64(this.#o.key),
      ...(this.#o.prefix ? { range_end: prefixEnd(this.#o.key) } : {}),
      // One revision early: etcd sends no progress notification to a watch that starts in
      // the future (a quiet key would never get one); the repeated revision is dropped below.
      ...(this.#next ? { start_revision: String(this.#exactStart ? this.#next : Math.max(1, this.#next - 1)) } : {}),
      progress_notify: this.#o.progressNotify ?? true,
    };
    const { endpoint, body } = await this.#transport.stream('/v3/watch', JSON.stringify({ create_request: create }), {
      idleTimeoutMs: this.#o.idleTimeoutMs ?? 0, headers: { 'grpc-metadata-hasleader': 'true' },
    });
    this.#body = body;
    if (this.#closed) { body.destroy(); return false; }
    let created = false;
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += (chunk as Buffer).toString('utf8');
        if (buf.length > MAX_LINE) throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd watch on ${endpoint}: a message over ${MAX_LINE} bytes`);
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line && await this.#message(line, endpoint)) created = true;
          if (this.#closed) return created;
        }
      }
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      if (this.#closed) return created;
      throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd watch on ${endpoint}: ${(err as Error).message}`, { cause: err });
    } finally {
      body.destroy();
    }
    return created;
  }

  /** Handles one stream message; true if it was "created". */
  async #message(line: string, endpoint: string): Promise<boolean> {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd watch on ${endpoint}: a message is not JSON`, { cause: err });
    }
    const parsed = watchMessageSchema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd watch on ${endpoint}: unexpected message (${first?.path.join('.')}: ${first?.message})`);
    }
    const { result, error } = parsed.data;
    if (error || !result) {
      // The gateway reports a broken gRPC stream (member lost its leader, shut down) in-band.
      throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd watch on ${endpoint}: ${error?.message ?? 'empty message'}`);
    }
    if (result.compact_revision > 0 && result.compact_revision <= this.#next && !this.#exactStart) {
      // Only the early revision is compacted, not the one needed: ask again from that one.
      this.#exactStart = true;
      throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd watch on ${endpoint}: revision ${this.#next - 1} compacted, retrying from ${this.#next}`);
    }
    if (result.compact_revision > 0) {
      throw new BrokerError('PLX_BROKER_ETCD_COMPACTED', `etcd watch of ${this.#o.key} from revision ${this.#next}: compacted up to ${result.compact_revision}`,
        { details: { fromRevision: this.#next, compactRevision: result.compact_revision } });
    }
    if (result.canceled) {
      // "no leader" (hasleader) and shutdowns are worth another member; anything else is final.
      if (/leader|shutdown|stopped/i.test(result.cancel_reason) || !result.cancel_reason) {
        throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd watch on ${endpoint} canceled: ${result.cancel_reason || 'no reason given'}`);
      }
      throw new BrokerError('PLX_BROKER_ETCD_REQUEST_REJECTED', `etcd watch on ${endpoint} canceled: ${result.cancel_reason}`);
    }
    if (result.created) {
      // A watch "from now" starts after the revision the member had when it was created.
      if (!this.#next) this.#next = result.header.revision + 1;
      return true;
    }
    const fresh = result.events.filter((e) => e.kv.modRevision >= this.#next);
    if (fresh.length) {
      const revision = fresh.at(-1)!.kv.modRevision;
      await this.#o.onEvents(fresh.map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: e.kv })), revision);
      this.#next = revision + 1;
    } else if (result.events.length === 0 && result.header.revision >= this.#next - 1) {
      // "Everything up to R was sent": R may be the revision just delivered (nothing new).
      this.#next = result.header.revision + 1;
      this.#o.onProgress?.(result.header.revision);
    }
    return false;
  }
}
