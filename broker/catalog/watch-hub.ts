// Fan-out of the event log to watch streams. Each change is serialized once (by the
// change set) and the same Buffer is written to every live watcher. A watcher behind the
// head, whether new (replaying from `since`) or paused by backpressure, pulls from the
// event log instead, as fast as its socket drains. A watcher whose buffered output stays
// above the high-water mark for a whole bookmark interval is dropped: it resumes from its
// last revision on a new connection. The hub never parses or re-serializes events.
import type { Logger } from 'pino';
import type { EventLog, LoggedEvent } from './event-log.ts';

/** The part of a writable stream (an http.ServerResponse) a watcher writes to. */
export interface WatchOutput {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  once(event: 'drain' | 'close', listener: () => void): unknown;
}

interface Watcher {
  readonly out: WatchOutput;
  /** The cluster that opened the stream. */
  readonly owner: string;
  /** The last revision written to `out`. */
  cursor: number;
  /** Waiting for 'drain' (over the high-water mark); ticks seen while waiting. */
  paused: boolean;
  stalledTicks: number;
  /** Sent the first bookmark (replay done). */
  synced: boolean;
}

export interface WatchHubOptions {
  readonly log: EventLog;
  readonly highWaterMarkBytes: number;
  readonly logger: Logger;
}

const REPLAY_CHUNK_BYTES = 64 * 1024;

function control(type: 'bookmark' | 'relist', revision: number): Buffer {
  return Buffer.from(`${JSON.stringify({ type, revision })}\n`);
}

export class WatchHub {
  readonly #log: EventLog;
  readonly #hwm: number;
  readonly #logger: Logger;
  readonly #watchers = new Set<Watcher>();
  #closed = false;

  constructor(o: WatchHubOptions) {
    this.#log = o.log;
    this.#hwm = o.highWaterMarkBytes;
    this.#logger = o.logger;
  }

  get size(): number {
    return this.#watchers.size;
  }

  /** Streams every event after `since`, then live ones; or one relist when `since` is gone. */
  add(out: WatchOutput, since: number, owner = ''): void {
    if (this.#closed) {
      out.end();
      return;
    }
    if (!this.#log.canResume(since)) {
      this.#logger.info({ owner, since, head: this.#log.head, compactedThrough: this.#log.compactedThrough }, 'watch cannot resume; relist sent');
      out.write(control('relist', this.#log.head));
      out.end();
      return;
    }
    const w: Watcher = { out, owner, cursor: since, paused: false, stalledTicks: 0, synced: false };
    this.#watchers.add(w);
    out.once('close', () => this.#watchers.delete(w));
    this.#pump(w);
  }

  /** Live fan-out of one committed change: the same buffer to every watcher at the head. */
  broadcast(events: readonly LoggedEvent[], batch: Buffer): void {
    if (events.length === 0) return;
    const first = events[0]!.revision;
    const last = events.at(-1)!.revision;
    for (const w of this.#watchers) {
      // Behind (replaying or paused): it will pull these from the log.
      if (w.paused || w.cursor !== first - 1) continue;
      w.out.write(batch);
      w.cursor = last;
      if (w.out.writableLength > this.#hwm) this.#pause(w);
    }
  }

  /** Bookmarks to watchers at the head; drops watchers stalled since the previous tick. */
  tick(): void {
    const bookmark = control('bookmark', this.#log.head);
    for (const w of [...this.#watchers]) {
      if (w.paused) {
        if (++w.stalledTicks >= 2) this.#drop(w, 'watcher stayed over the high-water mark');
        continue;
      }
      if (w.cursor === this.#log.head) w.out.write(bookmark);
    }
  }

  /** Ends the streams a cluster opened (it was removed: it may no longer read the catalog). */
  closeOwner(owner: string): void {
    for (const w of [...this.#watchers]) {
      if (w.owner !== owner) continue;
      this.#watchers.delete(w);
      w.out.end();
    }
  }

  /** Ends every stream cleanly (broker shutdown); later watchers are ended at once. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w.out.end();
    this.#watchers.clear();
  }

  #pause(w: Watcher): void {
    w.paused = true;
    w.stalledTicks = 0;
    w.out.once('drain', () => {
      if (!this.#watchers.has(w)) return;
      w.paused = false;
      this.#pump(w);
    });
  }

  #drop(w: Watcher, why: string): void {
    this.#watchers.delete(w);
    this.#logger.info({ cursor: w.cursor, buffered: w.out.writableLength }, why);
    w.out.destroy();
  }

  /** Writes from the log until the watcher is at the head or over the high-water mark. */
  #pump(w: Watcher): void {
    while (w.cursor < this.#log.head) {
      if (w.out.writableLength > this.#hwm) {
        this.#pause(w);
        return;
      }
      const chunk: Buffer[] = [];
      let bytes = 0;
      while (bytes < REPLAY_CHUNK_BYTES && w.cursor < this.#log.head) {
        const e = this.#log.get(w.cursor + 1);
        if (!e) {
          // Compacted away while this watcher lagged: it must relist.
          if (chunk.length > 0) w.out.write(Buffer.concat(chunk));
          this.#watchers.delete(w);
          w.out.write(control('relist', this.#log.head));
          w.out.end();
          return;
        }
        chunk.push(e.line);
        bytes += e.line.length;
        w.cursor = e.revision;
      }
      w.out.write(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk));
    }
    if (!w.synced) {
      w.synced = true;
      w.out.write(control('bookmark', this.#log.head));
    }
  }
}
