// Manual timers and clock for tests of anything that waits (work queue backoff, informer
// restarts, lease loops): time moves only when the test calls advance().
import type { Clock, TimerHandle, Timers } from '../../agent/timing/clock.ts';

interface Pending { id: number; at: number; ms: number; fn: () => void }

export class FakeTimers implements Timers, Clock {
  #now: number;
  #nextId = 1;
  #pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p = { id: this.#nextId++, at: this.#now + Math.max(0, ms), ms, fn };
    this.#pending.push(p);
    return p.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending = this.#pending.filter((p) => p.id !== handle);
  }

  /** Delays (as requested) of the timers not yet fired, in firing order. */
  pendingDelays(): number[] {
    return this.#sorted().map((p) => p.ms);
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#sorted()[0];
      if (!next || next.at > until) break;
      this.#pending = this.#pending.filter((p) => p !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = until;
  }

  /** Fires the earliest pending timer, whatever its delay. */
  fireNext(): boolean {
    const next = this.#sorted()[0];
    if (!next) return false;
    this.advance(next.at - this.#now);
    return true;
  }

  #sorted(): Pending[] {
    return [...this.#pending].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}
