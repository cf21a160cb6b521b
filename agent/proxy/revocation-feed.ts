// Keeps RevokedUsers current: the full list at start and after every catalog snapshot
// (a relist may have skipped compacted `user-revoked` events), plus each `user-revoked`
// event as it streams by. A full list, and every watch bookmark (the stream is at the
// broker's head, so every revocation before it was delivered), mark it current as of then —
// a bookmark only while no list is owed: after a relist the stream resumes from the
// snapshot, and revocations compacted before it arrive only with the list.
// `follow(stream)` subscribes to those three events of the catalog watch
// (agent/broker-client/watch-dispatcher.ts), beside the catalog view, never in front of it.
// Failures retry with capped backoff; they never throw.
import type { Logger } from 'pino';
import type { RevokedUserList } from '../../broker/api/users.ts';
import { backoffDelay } from '../timing/backoff.ts';
import type { RevokedUsers } from './revoked-users.ts';

/** The catalog watch as the feed follows it (agent/broker-client/WatchDispatcher provides it). */
export interface RevocationStream {
  on(event: 'snapshot', cb: () => void): () => void;
  on(event: 'userRevoked', cb: (event: { readonly name: string }) => void): () => void;
  on(event: 'bookmark', cb: (revision: number) => void): () => void;
}

export interface RevocationFeedOptions {
  readonly revoked: RevokedUsers;
  readonly fetchList: () => Promise<RevokedUserList>;
  readonly logger: Logger;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Injected clock: when a list was asked for, when a bookmark arrived. */
  readonly now: () => Date;
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  readonly clearTimeout?: (handle: unknown) => void;
}

export class RevocationFeed {
  readonly #o: RevocationFeedOptions;
  #attempt = 0;
  #timer: unknown;
  #inFlight = false;
  #again = false;
  #stopped = false;
  /** A full list was asked for (start, relist) and has not arrived yet. */
  #listOwed = false;

  constructor(o: RevocationFeedOptions) {
    this.#o = o;
  }

  /** Follows the stream's snapshots, revocations and bookmarks; returns the unsubscribe. */
  follow(stream: RevocationStream): () => void {
    const off = [
      stream.on('snapshot', () => this.refresh()),
      stream.on('userRevoked', (event) => {
        this.#o.revoked.add(event.name);
        this.#o.logger.info({ user: event.name }, 'user revoked; the access proxy refuses it from now on');
      }),
      stream.on('bookmark', () => {
        if (!this.#listOwed) this.#o.revoked.markCurrent(this.#o.now());
      }),
    ];
    return () => off.forEach((f) => f());
  }

  /** Fetches the full list (coalesced: at most one request in flight, one queued). */
  refresh(): void {
    if (this.#stopped) return;
    this.#listOwed = true;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    // A refresh (a snapshot) while a retry waits is that retry: one timer at a time.
    this.#clearTimer();
    this.#inFlight = true;
    // Current as of the question, not the answer: a revocation in between may be missing.
    const asked = this.#o.now();
    this.#o.fetchList().then((list) => {
      this.#o.revoked.applyList(list.users.map((u) => u.name), asked);
      // A refresh queued meanwhile (a newer relist) still owes its list.
      if (!this.#again) this.#listOwed = false;
      this.#attempt = 0;
      this.#o.logger.debug({ revoked: this.#o.revoked.size }, 'revocation list applied');
    }, (err: unknown) => {
      // Jittered like every other broker retry, so a fleet does not ask in step after an outage.
      const delay = backoffDelay(++this.#attempt, { baseMs: this.#o.retryBaseMs, maxMs: this.#o.retryMaxMs, jitter: 0.2 });
      this.#o.logger.warn({ err, retryInMs: delay }, 'cannot fetch the revocation list; retrying');
      this.#timer = (this.#o.setTimeout ?? setTimeout)(() => this.refresh(), delay);
    }).finally(() => {
      this.#inFlight = false;
      if (this.#again) {
        this.#again = false;
        this.refresh();
      }
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) (this.#o.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout)))(this.#timer);
    this.#timer = undefined;
  }
}
