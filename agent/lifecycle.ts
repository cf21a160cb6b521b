// Ordered shutdown for the agent's running parts: each part registers how to stop once
// it has started; stopAll() stops them in reverse order, every one even if another
// fails. Used both for a graceful stop and to undo a start that failed halfway.
// A part gets stopTimeoutMs to stop: one whose stop hangs (the probe server and the access
// proxy once waited for good on a connection caught mid-handshake) is logged by name with
// PLX_AGENT_STOP_TIMEOUT and left behind, so the parts after it still stop and the
// process can still exit.
import type { Logger } from 'pino';
import type { AgentErrorCode } from './errors.ts';
import { systemTimers, type Timers } from './timing/clock.ts';

const STOP_TIMEOUT: AgentErrorCode = 'PLX_AGENT_STOP_TIMEOUT';

export interface LifecycleOptions {
  /** Default 15 s: under Kubernetes' default 30 s grace, so the rest still stops in time. */
  readonly stopTimeoutMs?: number;
  readonly timers?: Timers;
}

export class Lifecycle {
  readonly #log: Logger;
  readonly #parts: { name: string; stop: () => Promise<unknown> | unknown }[] = [];
  readonly #timeoutMs: number;
  readonly #timers: Timers;

  constructor(log: Logger, o: LifecycleOptions = {}) {
    this.#log = log;
    this.#timeoutMs = o.stopTimeoutMs ?? 15_000;
    this.#timers = o.timers ?? systemTimers;
  }

  /** Registers a started part; returns it for chaining at the call site. */
  started<T>(name: string, part: T, stop: (part: T) => Promise<unknown> | unknown): T {
    this.#parts.push({ name, stop: () => stop(part) });
    return part;
  }

  async stopAll(): Promise<void> {
    for (const part of this.#parts.splice(0).reverse()) {
      const started = performance.now();
      this.#log.debug({ part: part.name }, 'stopping');
      let timer: ReturnType<Timers['setTimeout']> | undefined;
      const deadline = new Promise<'timeout'>((resolve) => { timer = this.#timers.setTimeout(() => resolve('timeout'), this.#timeoutMs); });
      try {
        const outcome = await Promise.race([Promise.resolve().then(part.stop), deadline]);
        if (outcome === 'timeout') {
          this.#log.error({ part: part.name, code: STOP_TIMEOUT, timeoutMs: this.#timeoutMs }, 'stopping timed out; going on without it');
        } else {
          this.#log.debug({ part: part.name, durationMs: Math.round(performance.now() - started) }, 'stopped');
        }
      } catch (err) {
        this.#log.error({ err, part: part.name }, 'stopping failed');
      } finally {
        if (timer !== undefined) this.#timers.clearTimeout(timer);
      }
    }
  }
}
