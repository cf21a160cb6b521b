// The controller runner (controller-runtime's pkg/reconcile): a reconciler has one
// method, reconcile(key). It is level-based: it reads current state from caches and
// never trusts event contents, so event handlers only enqueue keys. A thrown error
// requeues the key with backoff; a TerminalError is logged and not retried (a later
// event for the key reconciles it again); success forgets the key's failures.
import type { Logger } from 'pino';
import type { BackoffOptions } from '../timing/backoff.ts';
import type { Timers } from '../timing/clock.ts';
import { WorkQueue } from './work-queue.ts';

export interface ReconcileContext {
  /** Child logger of the controller's, bound to this key. */
  readonly log: Logger;
}

/** Return `{ requeueAfterMs }` to be called again later even without an event. */
export type Result = { requeueAfterMs?: number } | undefined | void;

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<Result>;
}

/** An error that retrying cannot fix (bad input, forbidden): logged, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  timers: Timers;
  /** Keys reconciled in parallel (never the same key twice at once). Default 2. */
  workers?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconciler: Reconciler;
  readonly #log: Logger;
  readonly #workers: number;
  #running: Promise<void>[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(o: ControllerOptions) {
    this.name = o.name;
    this.#reconciler = o.reconciler;
    this.#log = o.logger.child({ component: o.name, controller: o.name });
    this.#workers = Math.max(1, o.workers ?? 2);
    this.queue = new WorkQueue({ timers: o.timers, ...(o.backoff ? { backoff: o.backoff } : {}), ...(o.random ? { random: o.random } : {}) });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.#running.length > 0) return;
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
    this.#log.info({ workers: this.#workers }, 'started');
  }

  /** Stops taking keys and waits for in-flight reconciles to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.#running);
    this.#running = [];
  }

  /** Resolves when nothing is queued or in flight (delayed requeues do not count). For tests and shutdown. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
        if (this.#isIdle()) for (const w of this.#idleWaiters.splice(0)) w();
      }
    }
  }

  #isIdle(): boolean {
    return this.queue.len() === 0 && this.queue.processingCount() === 0;
  }

  async #process(key: string): Promise<void> {
    const log = this.#log.child({ key });
    let result: Result;
    try {
      result = await this.#reconciler.reconcile(key, { log });
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        log.error({ err: err.message }, 'reconcile failed terminally; not retrying');
        return;
      }
      const retryInMs = this.queue.addRateLimited(key);
      log.warn({ err: (err as Error)?.message ?? String(err), code: (err as { code?: unknown })?.code, attempt: this.queue.numRequeues(key), retryInMs }, 'reconcile failed; requeued');
      return;
    }
    this.queue.forget(key);
    if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
  }
}
