// The broker lease: POST /v1/lease every leaseDuration/3, so two missed beats still leave
// the lease alive. Failures retry with exponential backoff and jitter (never slower than
// the normal beat) and are only logged: a broker outage must never stop the agent.
import type { Logger } from 'pino';
import type { LeaseResponse } from '../../../broker/api/catalog.ts';
import { backoffDelay, type BackoffOptions } from '../../kube/backoff.ts';
import type { Clock, TimerHandle, Timers } from '../../kube/clock.ts';
import type { AgentMetrics } from '../../metrics/agent-metrics.ts';

/** What the heartbeat needs of the broker client. */
export interface LeaseClient {
  renewLease(): Promise<LeaseResponse>;
}

export interface LeaseHeartbeatOptions {
  client: LeaseClient;
  logger: Logger;
  timers: Timers;
  clock: Clock;
  /** Used until the broker states its own lease duration. */
  leaseDurationMs: number;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Counts beats by outcome (ok, error). */
  metrics?: Pick<AgentMetrics, 'leaseRenewals'>;
}

/** Retry ceiling before the broker has stated its lease (the broker's shortest lease is 1 s). */
export const UNKNOWN_LEASE_RETRY_MS = 1000;

export class LeaseHeartbeat {
  readonly #o: LeaseHeartbeatOptions;
  readonly #log: Logger;
  #leaseMs: number;
  #timer: TimerHandle | undefined;
  #running = false;
  #failures = 0;
  #lastRenewedAt: Date | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(o: LeaseHeartbeatOptions) {
    if (!(o.leaseDurationMs > 0)) throw new RangeError('leaseDurationMs must be positive');
    this.#o = o;
    this.#log = o.logger.child({ component: 'lease' });
    this.#leaseMs = o.leaseDurationMs;
  }

  /** First beat at once, then on schedule. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops scheduling; waits for a beat in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  get lastRenewedAt(): Date | undefined {
    return this.#lastRenewedAt;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** The normal interval: a third of the lease. */
  get intervalMs(): number {
    return Math.max(1, Math.floor(this.#leaseMs / 3));
  }

  /**
   * The slowest retry while failing: the beat, but before the first renewal of this process
   * the lease is only a guess (30 s), while a broker that returns from an outage gives each
   * cluster one of its own leases to check in, which may be much shorter. So until the broker
   * has stated its lease, retry at least every UNKNOWN_LEASE_RETRY_MS (an agent started
   * during a broker outage with a 3 s lease was withdrawn everywhere 3 s after the return).
   */
  #retryCapMs(): number {
    return this.#lastRenewedAt === undefined ? Math.min(this.intervalMs, UNKNOWN_LEASE_RETRY_MS) : this.intervalMs;
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#beat().finally(() => { this.#inFlight = undefined; });
    }, ms);
  }

  async #beat(): Promise<void> {
    try {
      const res = await this.#o.client.renewLease();
      this.#leaseMs = res.leaseDurationSeconds * 1000;
      this.#lastRenewedAt = this.#o.clock.now();
      if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'lease renewed again');
      this.#failures = 0;
      this.#o.metrics?.leaseRenewals.inc({ outcome: 'ok' });
      this.#schedule(this.intervalMs);
    } catch (err) {
      this.#failures++;
      this.#o.metrics?.leaseRenewals.inc({ outcome: 'error' });
      const backoff = this.#o.backoff ?? { baseMs: 500, maxMs: this.intervalMs, jitter: 0.3 };
      const ms = Math.min(this.#retryCapMs(), backoffDelay(this.#failures, backoff, this.#o.random));
      const e = err as { code?: unknown; brokerCode?: unknown; message?: unknown };
      this.#log.warn({ code: e.code, brokerCode: e.brokerCode, err: String(e.message ?? err), failures: this.#failures, retryInMs: ms }, 'lease renewal failed');
      this.#schedule(ms);
    }
  }
}
