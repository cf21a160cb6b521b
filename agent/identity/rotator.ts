// Keeps the cluster certificate fresh. Each certificate gets one plan: renew at 2/3 of its
// life moved by jitter (certs/renewal.ts), warn when 10% of it remains. One timer wakes
// the rotator at the next due point; the rotator then looks at the current identity and
// the clock (level-based) and acts. A failed renewal is retried with exponential backoff
// and jitter until it works, also after the certificate expired: the broker accepts a
// renewal with a recently expired certificate within its grace (broker/README.md). When
// the broker refuses for good (expired beyond the grace, cluster removed) the rotator
// says so once, with a stable code and an Event, and stops: only `plexus agent join` helps.
import type { Logger } from 'pino';
import { renewalTime } from '../../certs/renewal.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { backoffDelay, type BackoffOptions } from '../timing/backoff.ts';
import type { Clock, TimerHandle, Timers } from '../timing/clock.ts';
import { AgentError } from '../errors.ts';
import type { StoredIdentity } from './identity-store.ts';
import { certificateDates, renewIdentity, type CertificateDates, type RenewCall } from './renew-identity.ts';

/** The part of LiveIdentity the rotator uses. */
export interface RotatingIdentity {
  current(): StoredIdentity;
  update(next: StoredIdentity): Promise<void>;
  subscribe(fn: (next: StoredIdentity, previous: StoredIdentity) => void): () => void;
}

/** Where operators hear about the certificate (Kubernetes Events in production). */
export interface RotationNotices {
  /** Less than `warnRemaining` of the certificate's life is left. */
  expiring(o: { serial: string; notAfter: Date }): void;
  /** Renewal is refused for good; the cluster must join again. */
  refused(o: { code: 'PLX_AGENT_IDENTITY_EXPIRED' | 'PLX_AGENT_IDENTITY_REVOKED' | 'PLX_AGENT_IDENTITY_SUPERSEDED'; message: string; notAfter: Date }): void;
}

export type RotatorMetrics = Pick<AgentMetrics, 'certificateNotAfter' | 'certificateExpiring' | 'rotations' | 'trustBundleRoots'>;

export interface CertificateRotatorOptions {
  readonly identity: RotatingIdentity;
  /** POST /v1/renew with the current identity (BrokerClient.renew). */
  readonly renew: RenewCall;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Uniform in [0, 1): renewal jitter and backoff jitter. */
  readonly random?: () => number;
  /** Fraction of the lifetime at which to renew (default 2/3). */
  readonly fraction?: number;
  /** ± share of the lifetime the renewal time moves by (default 0.1). */
  readonly jitter?: number;
  /** Warn when this share of the lifetime remains (default 0.1). */
  readonly warnRemaining?: number;
  readonly retry: BackoffOptions;
  readonly notices?: RotationNotices;
  readonly metrics?: RotatorMetrics;
}

interface Plan extends CertificateDates {
  readonly renewAt: number;
  readonly warnAt: number;
}

/** Timers cannot wait longer than 2^31-1 ms; the rotator wakes at least daily and re-plans. */
const MAX_SLEEP_MS = 24 * 3600 * 1000;
/**
 * Once less than `warnRemaining` of the life is left (or it expired), retries are at most
 * this far apart, so a returning broker is found within seconds. Jitter still spreads a fleet.
 */
const URGENT_RETRY_MAX_MS = 2000;
const REFUSED = new Map([
  ['PLX_BROKER_CERT_EXPIRED', 'PLX_AGENT_IDENTITY_EXPIRED'],
  ['PLX_BROKER_CLUSTER_REVOKED', 'PLX_AGENT_IDENTITY_REVOKED'],
  // Only the newest certificate renews: retrying with this one can never succeed.
  ['PLX_BROKER_CERT_SUPERSEDED', 'PLX_AGENT_IDENTITY_SUPERSEDED'],
] as const);

export class CertificateRotator {
  readonly #o: CertificateRotatorOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  #plan: Plan | undefined;
  #timer: TimerHandle | undefined;
  #failures = 0;
  #retryAt = 0;
  #warned: string | undefined;
  #inflight: Promise<AgentError | undefined> | undefined;
  #refused = false;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;

  constructor(o: CertificateRotatorOptions) {
    const warn = o.warnRemaining ?? 0.1;
    if (!(warn > 0 && warn < 1)) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `warnRemaining must be in (0, 1), not ${warn}`);
    this.#o = o;
    this.#log = o.logger.child({ component: 'cert-rotator' });
    this.#random = o.random ?? Math.random;
  }

  /** When the current certificate is due for renewal (undefined before start). */
  get renewAt(): Date | undefined {
    return this.#plan ? new Date(this.#failures > 0 ? this.#retryAt : this.#plan.renewAt) : undefined;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#countRoots(this.#o.identity.current());
    this.#unsubscribe = this.#o.identity.subscribe((next, previous) => {
      this.#countRoots(next);
      // A trust-bundle-only change (CA rollover) keeps the plan; a new certificate from
      // anywhere else resets it. During our own renewal the finally-step re-plans.
      if (next.certPem !== previous.certPem && !this.#inflight) {
        this.#failures = 0;
        this.#refused = false;
        this.#tick();
      }
    });
    this.#tick();
  }

  /** plexus_agent_trust_bundle_roots: 2 during a CA rollover, 1 once the old root is gone. */
  #countRoots(id: StoredIdentity): void {
    try {
      this.#o.metrics?.trustBundleRoots.set(TrustBundle.fromPem(id.trustBundle).fingerprints().length);
    } catch {
      // an unparsable bundle is reported where it is used
    }
  }

  /** Cancels the timer; a renewal in flight finishes (its result is stored) before this resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#clearTimer();
    await this.#inflight;
  }

  /**
   * Renews now whatever the plan says (CA rollover: the broker issues from a new root).
   * Concurrent calls share one renewal. Rejects with the failure; retries continue anyway.
   */
  async renewNow(reason: string): Promise<void> {
    const err = await this.#renew(reason);
    if (err) throw err;
  }

  /** Looks at the clock and the certificate, does what is due, and sleeps until the next due point. */
  #tick(): void {
    this.#clearTimer();
    if (this.#stopped || this.#inflight) return;
    let plan: Plan;
    try {
      plan = this.#planFor(this.#o.identity.current());
    } catch (err) {
      // Only a certificate that cannot be parsed gets here; nothing to plan until it changes.
      this.#log.error({ err }, 'cannot plan the renewal of the current certificate');
      return;
    }
    const now = this.#o.clock.now().getTime();
    this.#recordExpiry(plan);
    if (now >= plan.warnAt && this.#warned !== plan.serial) this.#warn(plan, now);
    if (this.#refused) return;
    const dueAt = this.#failures > 0 ? this.#retryAt : plan.renewAt;
    if (now >= dueAt) {
      void this.#renew(this.#failures > 0 ? 'retry' : 'scheduled');
      return;
    }
    const next = Math.min(dueAt, this.#warned === plan.serial ? Infinity : plan.warnAt);
    this.#timer = this.#o.timers.setTimeout(() => this.#tick(), Math.min(next - now, MAX_SLEEP_MS));
  }

  #planFor(identity: StoredIdentity): Plan {
    const dates = certificateDates(identity.certPem);
    if (this.#plan?.serial === dates.serial) return this.#plan;
    const renewAt = renewalTime({ ...dates, random: this.#random, fraction: this.#o.fraction, jitter: this.#o.jitter }).getTime();
    const lifetime = dates.notAfter.getTime() - dates.notBefore.getTime();
    const warnAt = dates.notAfter.getTime() - lifetime * (this.#o.warnRemaining ?? 0.1);
    this.#plan = { ...dates, renewAt, warnAt };
    this.#o.metrics?.certificateExpiring.set(0);
    this.#log.info({ serial: dates.serial, notAfter: dates.notAfter.toISOString(), renewAt: new Date(renewAt).toISOString() }, 'certificate renewal planned');
    return this.#plan;
  }

  #renew(reason: string): Promise<AgentError | undefined> {
    if (this.#inflight) return this.#inflight;
    this.#clearTimer();
    const run = this.#attempt(reason).finally(() => {
      this.#inflight = undefined;
      this.#tick();
    });
    this.#inflight = run;
    return run;
  }

  async #attempt(reason: string): Promise<AgentError | undefined> {
    const current = this.#o.identity.current();
    const previous = certificateDates(current.certPem);
    try {
      const next = await renewIdentity(current, this.#o.renew, this.#o.clock.now());
      await this.#o.identity.update(next);
      this.#failures = 0;
      this.#refused = false;
      this.#o.metrics?.rotations.inc({ outcome: 'success' });
      const dates = certificateDates(next.certPem);
      this.#log.info({ reason, previousSerial: previous.serial, serial: dates.serial, notAfter: dates.notAfter.toISOString() }, 'cluster certificate renewed');
      return undefined;
    } catch (err) {
      return this.#failed(reason, err, previous);
    }
  }

  #failed(reason: string, err: unknown, dates: CertificateDates): AgentError {
    const e = err instanceof AgentError ? err : new AgentError('PLX_AGENT_IDENTITY_STORE', `renewal failed: ${(err as Error)?.message}`, { cause: err });
    const refusal = e.brokerCode === undefined ? undefined : REFUSED.get(e.brokerCode as 'PLX_BROKER_CERT_EXPIRED');
    if (refusal) {
      this.#refused = true;
      this.#o.metrics?.rotations.inc({ outcome: 'refused' });
      const message = `the broker refuses to renew this cluster's certificate (${e.brokerCode}); run \`plexus agent join\` again`;
      this.#log.error({ code: refusal, brokerCode: e.brokerCode, notAfter: dates.notAfter.toISOString() }, message);
      try {
        this.#o.notices?.refused({ code: refusal, message, notAfter: dates.notAfter });
      } catch (err2) {
        this.#log.warn({ err: err2 }, 'cannot report the refused renewal');
      }
      return new AgentError(refusal, message, { cause: e, ...(e.brokerCode ? { brokerCode: e.brokerCode } : {}) });
    }
    this.#failures += 1;
    const now = this.#o.clock.now().getTime();
    const urgent = this.#plan !== undefined && now >= this.#plan.warnAt;
    const retry = urgent ? { ...this.#o.retry, maxMs: Math.max(this.#o.retry.baseMs, Math.min(this.#o.retry.maxMs, URGENT_RETRY_MAX_MS)) } : this.#o.retry;
    const delay = backoffDelay(this.#failures, retry, this.#random);
    this.#retryAt = now + delay;
    this.#o.metrics?.rotations.inc({ outcome: 'failure' });
    this.#log.warn({ err: e, code: e.code, reason, attempt: this.#failures, retryInMs: delay, notAfter: dates.notAfter.toISOString() }, 'certificate renewal failed; retrying');
    return e;
  }

  #warn(plan: Plan, now: number): void {
    this.#warned = plan.serial;
    this.#o.metrics?.certificateExpiring.set(1);
    const expired = now >= plan.notAfter.getTime();
    this.#log.warn({ serial: plan.serial, notAfter: plan.notAfter.toISOString(), expired }, expired
      ? 'cluster certificate has expired; renewing as soon as the broker answers'
      : 'cluster certificate is close to expiry and not renewed yet');
    try {
      this.#o.notices?.expiring({ serial: plan.serial, notAfter: plan.notAfter });
    } catch (err) {
      this.#log.warn({ err }, 'cannot report the expiring certificate');
    }
  }

  /** certificateExpiry follows from it at every scrape (AgentMetrics). */
  #recordExpiry(plan: Plan): void {
    this.#o.metrics?.certificateNotAfter.set(plan.notAfter.getTime() / 1000);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
