// The retained tail of the catalog's event log, in memory, as the exact bytes sent on the
// wire (one NDJSON line per event, serialized once). Revisions are dense: every revision
// from compactedThrough+1 to head has exactly one event here, so lookups are O(1). The
// store holds the same events durably; this is what watchers replay from.
import { BrokerError } from '../errors.ts';

export interface LoggedEvent {
  readonly revision: number;
  /** JSON of the WatchEvent followed by "\n". */
  readonly line: Buffer;
}

export interface EventLogOptions {
  /** How many events to keep; older ones are compacted away. */
  readonly retention: number;
  /** The newest revision (0 for an empty log). */
  readonly head: number;
  /** Every revision up to and including this one is gone. */
  readonly compactedThrough: number;
  /** Retained events, oldest first. */
  readonly events: readonly LoggedEvent[];
}

export class EventLog {
  readonly #retention: number;
  #events: LoggedEvent[];
  #offset = 0;
  #head: number;
  #compactedThrough: number;

  constructor(o: EventLogOptions) {
    this.#retention = o.retention;
    this.#head = o.head;
    const firstLoaded = o.events[0]?.revision;
    // Whatever the store kept, trust only a dense run ending at head.
    let compacted = Math.max(o.compactedThrough, o.head - o.retention);
    if (firstLoaded !== undefined && firstLoaded - 1 > compacted) compacted = firstLoaded - 1;
    if (firstLoaded === undefined) compacted = Math.max(compacted, o.head);
    this.#compactedThrough = compacted;
    this.#events = o.events.filter((e) => e.revision > compacted);
    for (let i = 0; i < this.#events.length; i++) {
      if (this.#events[i]!.revision !== compacted + 1 + i) {
        throw new BrokerError('PLX_BROKER_INTERNAL', `event log is not dense at revision ${compacted + 1 + i}`);
      }
    }
    if (this.#events.length > 0 && this.#events.at(-1)!.revision !== o.head) {
      throw new BrokerError('PLX_BROKER_INTERNAL', `event log ends at ${this.#events.at(-1)!.revision}, not at head ${o.head}`);
    }
  }

  get head(): number {
    return this.#head;
  }

  get compactedThrough(): number {
    return this.#compactedThrough;
  }

  get size(): number {
    return this.#events.length - this.#offset;
  }

  /** compactedThrough after the head moves to `head` (what the store must delete through). */
  compactionFor(head: number): number {
    return Math.max(this.#compactedThrough, head - this.#retention);
  }

  /** Appends events head+1, head+2, … and compacts to the retention. */
  append(events: readonly LoggedEvent[]): void {
    for (const e of events) {
      if (e.revision !== this.#head + 1) throw new BrokerError('PLX_BROKER_INTERNAL', `event ${e.revision} appended after head ${this.#head}`);
      this.#events.push(e);
      this.#head = e.revision;
    }
    const compacted = this.compactionFor(this.#head);
    if (compacted > this.#compactedThrough) {
      this.#offset += compacted - this.#compactedThrough;
      this.#compactedThrough = compacted;
      // Drop the dead prefix in bulk, not on every append.
      if (this.#offset > 1024 && this.#offset * 2 > this.#events.length) {
        this.#events = this.#events.slice(this.#offset);
        this.#offset = 0;
      }
    }
  }

  /** True when every event after `since` is still here (and `since` is not from the future). */
  canResume(since: number): boolean {
    return since >= this.#compactedThrough && since <= this.#head;
  }

  /** The event at `revision`, if retained. */
  get(revision: number): LoggedEvent | undefined {
    if (revision <= this.#compactedThrough || revision > this.#head) return undefined;
    return this.#events[this.#offset + (revision - this.#compactedThrough - 1)];
  }
}
