// Ordered shutdown for the agent's running parts: each part registers how to stop once
// it has started; stopAll() stops them in reverse order, every one even if another
// fails. Used both for a graceful stop and to undo a start that failed halfway.
import type { Logger } from 'pino';

export class Lifecycle {
  readonly #log: Logger;
  readonly #parts: { name: string; stop: () => Promise<unknown> | unknown }[] = [];

  constructor(log: Logger) {
    this.#log = log;
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
      try {
        await part.stop();
        this.#log.debug({ part: part.name, durationMs: Math.round(performance.now() - started) }, 'stopped');
      } catch (err) {
        this.#log.error({ err, part: part.name }, 'stopping failed');
      }
    }
  }
}
