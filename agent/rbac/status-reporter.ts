// Sends the RBAC status report to the broker: coalesces bursts (a baseline of hundreds of
// objects is one report, not hundreds), sends only when the report changed, and retries
// with capped backoff while the broker is away. Never throws into the controller.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { RbacStatusReport } from '../../broker/api/rbac.ts';
import { backoffDelay, type BackoffOptions } from '../timing/backoff.ts';
import type { TimerHandle, Timers } from '../timing/clock.ts';

export interface StatusReporterDeps {
  send: (report: RbacStatusReport) => Promise<void>;
  render: () => RbacStatusReport;
  timers: Timers;
  logger: Logger;
  /** How long to gather changes before sending. */
  debounceMs: number;
  retry: BackoffOptions;
}

export class StatusReporter {
  readonly #d: StatusReporterDeps;
  #timer: TimerHandle | undefined;
  #sending = false;
  #again = false;
  #failures = 0;
  #last: RbacStatusReport | undefined;
  #stopped = false;

  constructor(deps: StatusReporterDeps) {
    this.#d = deps;
  }

  /** Something changed: report soon. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    if (this.#timer === undefined) this.#timer = this.#d.timers.setTimeout(() => void this.#flush(), this.#d.debounceMs);
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const report = this.#d.render();
    if (this.#last && isDeepStrictEqual(this.#last, report)) return;
    this.#sending = true;
    try {
      await this.#d.send(report);
      this.#last = report;
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      const ms = backoffDelay(this.#failures, this.#d.retry);
      this.#d.logger.warn({ err: (err as Error).message, retryInMs: ms }, 'rbac status report failed; retrying');
      if (!this.#stopped) this.#timer = this.#d.timers.setTimeout(() => void this.#flush(), ms);
    } finally {
      this.#sending = false;
    }
    if (this.#again) {
      this.#again = false;
      this.poke();
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#d.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
