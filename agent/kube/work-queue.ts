// A keyed work queue with client-go's guarantees: a key waiting in the queue is held once
// however often it is added; a key is never handed to two workers at once (added while
// processing, it is queued again when done()); failed keys come back after exponential
// backoff with jitter until forget() resets their count.
import { backoffDelay, defaultBackoff, validateBackoff, type BackoffOptions } from '../timing/backoff.ts';
import type { TimerHandle, Timers } from '../timing/clock.ts';

export interface WorkQueueOptions {
  timers: Timers;
  backoff?: BackoffOptions;
  random?: () => number;
}

export class WorkQueue {
  readonly #o: Required<WorkQueueOptions>;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, TimerHandle>();
  readonly #getters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(o: WorkQueueOptions) {
    this.#o = { timers: o.timers, backoff: validateBackoff(o.backoff ?? defaultBackoff), random: o.random ?? Math.random };
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) this.#hand(key, getter);
    else this.#queue.push(key);
  }

  /** Adds `key` after `ms`; a later addAfter of the same key replaces the pending one. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const pending = this.#delayed.get(key);
    if (pending !== undefined) this.#o.timers.clearTimeout(pending);
    this.#delayed.set(key, this.#o.timers.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms));
  }

  /** Requeues after the key's next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    const ms = backoffDelay(n, this.#o.backoff, this.#o.random);
    this.addAfter(key, ms);
    return ms;
  }

  /** Resets the key's failure count (call after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once shut down. Pair every key with done(). */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (!this.#dirty.has(key) || this.#shuttingDown) return;
    const getter = this.#getters.shift();
    if (getter) this.#hand(key, getter);
    else this.#queue.push(key);
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones). */
  len(): number {
    return this.#queue.length;
  }

  /** Keys handed out and not yet done(). */
  processingCount(): number {
    return this.#processing.size;
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  /** Keys with a pending delayed add. */
  delayedKeys(): string[] {
    return [...this.#delayed.keys()];
  }

  /**
   * Adds every delayed key now (what they waited for is back, e.g. the broker); their
   * failure counts stay, so a key that fails again backs off from where it was.
   */
  addDelayedNow(): number {
    const keys = [...this.#delayed.keys()];
    for (const key of keys) {
      this.#o.timers.clearTimeout(this.#delayed.get(key)!);
      this.#delayed.delete(key);
      this.add(key);
    }
    return keys.length;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const h of this.#delayed.values()) this.#o.timers.clearTimeout(h);
    this.#delayed.clear();
    this.#queue.length = 0;
    for (const g of this.#getters.splice(0)) g(undefined);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #hand(key: string, getter: (key: string) => void): void {
    getter(this.#take(key));
  }
}
