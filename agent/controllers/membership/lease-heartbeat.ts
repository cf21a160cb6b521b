// The broker lease: POST /v1/lease every leaseDuration/3, so two missed beats still leave
// the lease alive; beatNow() brings the next beat forward when what it carries changed. Failures retry with exponential backoff and jitter (never slower than
// the normal beat) and are only logged: a broker outage must never stop the agent.
// Each renewal has its own deadline (half the lease): a call that never settles is abandoned,
// aborted and counted as a failure, so nothing the client does can stop the beat. Half, not
// the beat interval: on a loaded machine a slow answer that still lands within the lease is
// worth more than a retry, and a hung call still leaves time to retry before the lease ends.
import type { Logger } from 'pino';
import type { LeaseResponse } from '../../../broker/api/catalog.ts';
import { AgentError } from '../../errors.ts';
import { backoffDelay, type BackoffOptions } from '../../timing/backoff.ts';
import type { Clock, TimerHandle, Timers } from '../../timing/clock.ts';
import type { AgentMetrics } from '../../metrics/agent-metrics.ts';

/** What the heartbeat needs of the broker client. */
export interface LeaseClient {
  /** `signal` aborts when the heartbeat stops waiting for this renewal. */
  renewLease(o?: { signal?: AbortSignal }): Promise<LeaseResponse>;
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
  /** How long one renewal may take before it is abandoned; default half the lease. */
  renewTimeoutMs?: number;
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
  /** beatNow() while a beat was in flight: beat again as soon as it settles. */
  #again = false;

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

  /**
   * Beat now instead of at the next tick: what the beat carries changed (lease-report.ts).
   * A beat in flight is followed by one more at once. Ignored while renewals fail: the
   * backoff stands, and the retry carries the newest report anyway.
   */
  beatNow(): void {
    if (!this.#running || this.#failures > 0) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
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
      let next = this.intervalMs;
      this.#inFlight = this.#beat()
        .then((ms) => { next = ms; }, (err: unknown) => { this.#log.error({ err }, 'lease heartbeat beat failed unexpectedly'); })
        .finally(() => {
          this.#inFlight = undefined;
          const again = this.#again && this.#failures === 0;
          this.#again = false;
          this.#schedule(again ? 0 : next);
        });
    }, ms);
  }

  /** One renewal; resolves with the delay until the next beat. */
  async #beat(): Promise<number> {
    try {
      const res = await this.#renewWithin(this.#o.renewTimeoutMs ?? Math.max(1, Math.floor(this.#leaseMs / 2)));
      this.#leaseMs = res.leaseDurationSeconds * 1000;
      this.#lastRenewedAt = this.#o.clock.now();
      if (this.#failures > 0) this.#log.info({ after: this.#failures }, 'lease renewed again');
      this.#failures = 0;
      this.#o.metrics?.leaseRenewals.inc({ outcome: 'ok' });
      return this.intervalMs;
    } catch (err) {
      this.#failures++;
      this.#o.metrics?.leaseRenewals.inc({ outcome: 'error' });
      const backoff = this.#o.backoff ?? { baseMs: 500, maxMs: this.intervalMs, jitter: 0.3 };
      const ms = Math.min(this.#retryCapMs(), backoffDelay(this.#failures, backoff, this.#o.random));
      const e = err as { code?: unknown; brokerCode?: unknown; message?: unknown };
      this.#log.warn({ code: e.code, brokerCode: e.brokerCode, err: String(e.message ?? err), failures: this.#failures, retryInMs: ms }, 'lease renewal failed');
      return ms;
    }
  }

  /** The client's renewal, or PLX_AGENT_LEASE_TIMEOUT after `ms` (the call is then aborted and its outcome ignored). */
  #renewWithin(ms: number): Promise<LeaseResponse> {
    const abort = new AbortController();
    return new Promise<LeaseResponse>((resolve, reject) => {
      const timer = this.#o.timers.setTimeout(() => {
        const err = new AgentError('PLX_AGENT_LEASE_TIMEOUT', `lease renewal did not settle within ${ms} ms`);
        abort.abort(err);
        reject(err);
      }, ms);
      const settle = () => this.#o.timers.clearTimeout(timer);
      let call: Promise<LeaseResponse>;
      try {
        call = this.#o.client.renewLease({ signal: abort.signal });
      } catch (err) {
        settle();
        return reject(err);
      }
      call.then((res) => { settle(); resolve(res); }, (err: unknown) => { settle(); reject(err); });
    });
  }
}
