// Keeps the agent's trust bundle in step with the broker's during a CA rollover. Every
// interval it acknowledges the roots it trusts (POST /v1/trust-bundle/ack, over mTLS with
// the current identity); the answer is the broker's bundle and the root that issues now.
//   - A different bundle is accepted only if it shares at least one root with the bundle
//     trusted now (no trust jump): the answer already came over TLS verified against the
//     current roots, and requiring overlap means trust can only move one rollover step at
//     a time, never to a disjoint set of roots (e.g. a broker re-initialized by mistake).
//     It is persisted with LiveIdentity.update (every TLS user then reloads), then
//     acknowledged again, which is how the broker knows this agent has it.
//   - If the agent's certificate was issued by another root than the issuing one, it asks
//     for a renewal now (`renewNow`), once per certificate and issuing root.
import type { Logger } from 'pino';
import type { TrustBundleAckResponse } from '../../broker/api/ca.ts';
import { parseIdentity } from '../../certs/identity.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { AgentError } from '../errors.ts';
import type { Clock, TimerHandle, Timers } from '../timing/clock.ts';
import type { StoredIdentity } from './identity-store.ts';

/** The broker calls the refresher needs, made with one identity. */
export interface TrustBundleApi {
  ackTrustBundle(fingerprints: string[]): Promise<TrustBundleAckResponse>;
  close(): Promise<void>;
}

/** The part of LiveIdentity the refresher uses. */
export interface RefreshingIdentity {
  current(): StoredIdentity;
  /** Changes only the trust bundle, on whatever certificate is current by then (a renewal may be under way). */
  modify(change: (current: StoredIdentity) => StoredIdentity): Promise<void>;
}

export interface TrustBundleRefresherOptions {
  readonly identity: RefreshingIdentity;
  /** A client that authenticates with `id` and verifies the broker with its bundle. */
  readonly connect: (id: StoredIdentity) => TrustBundleApi;
  /** Renew the cluster certificate now (CertificateRotator.renewNow). */
  readonly renewNow?: (reason: string) => Promise<void>;
  readonly intervalMs: number;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type RefreshResult = 'unchanged' | 'updated';

/** Checks the broker's bundle against the trusted one; returns it parsed, or throws PLX_AGENT_TRUST_BUNDLE_REJECTED. */
function acceptTrustBundle(trusted: TrustBundle, res: TrustBundleAckResponse, clusterset: string): TrustBundle {
  const reject = (why: string, cause?: unknown) => new AgentError('PLX_AGENT_TRUST_BUNDLE_REJECTED', `trust bundle from the broker refused: ${why}`, { cause });
  if (res.clusterset !== clusterset) throw reject(`it is for clusterset "${res.clusterset}", not "${clusterset}"`);
  let next: TrustBundle;
  try {
    next = TrustBundle.fromPem(res.trustBundle);
  } catch (err) {
    throw reject('it is not a bundle of CA certificates', err);
  }
  const fps = next.fingerprints();
  if (fps.length !== res.fingerprints.length || !res.fingerprints.every((f) => next.has(f))) throw reject('its fingerprints do not match its certificates');
  if (!fps.some((f) => trusted.has(f))) throw reject('it shares no root with the bundle trusted now (no trust jump)');
  return next;
}

function sameRoots(a: readonly string[], b: TrustBundle): boolean {
  return a.length === b.fingerprints().length && a.every((f) => b.has(f));
}

export class TrustBundleRefresher {
  readonly #o: TrustBundleRefresherOptions;
  readonly #log: Logger;
  #client: { key: string; api: TrustBundleApi } | undefined;
  #timer: TimerHandle | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  #renewRequested = '';

  constructor(o: TrustBundleRefresherOptions) {
    if (!(o.intervalMs > 0)) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `trust bundle refresh interval must be positive, not ${o.intervalMs}`);
    this.#o = o;
    this.#log = o.logger.child({ component: 'trust-bundle' });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer);
    await this.#running;
    await this.#client?.api.close();
    this.#client = undefined;
  }

  /** One round: acknowledge, take a changed bundle, acknowledge it, renew if the issuing root moved. */
  async refreshOnce(): Promise<RefreshResult> {
    const current = this.#o.identity.current();
    const trusted = TrustBundle.fromPem(current.trustBundle);
    let res = await this.#api(current).ackTrustBundle(trusted.fingerprints());
    let result: RefreshResult = 'unchanged';
    if (!sameRoots(res.fingerprints, trusted)) {
      const next = acceptTrustBundle(trusted, res, parseIdentity(current.identity).trustDomain);
      await this.#o.identity.modify((latest) => ({ ...latest, trustBundle: next.toPem() }));
      this.#log.info({ from: trusted.fingerprints(), to: next.fingerprints() }, 'trust bundle updated');
      result = 'updated';
      res = await this.#api(this.#o.identity.current()).ackTrustBundle(next.fingerprints());
    }
    await this.#renewIfIssuerMoved(res.issuingFingerprint);
    return result;
  }

  #loop(): void {
    if (this.#stopped) return;
    const round = this.refreshOnce().catch((err: unknown) => {
      // A broker outage is normal; the next round tries again.
      this.#log.warn({ err }, 'trust bundle refresh failed');
    });
    this.#running = round;
    void round.then(() => {
      if (!this.#stopped) this.#timer = this.#o.timers.setTimeout(() => this.#loop(), this.#o.intervalMs);
    });
  }

  async #renewIfIssuerMoved(issuing: string): Promise<void> {
    const current = this.#o.identity.current();
    const key = `${issuing}\n${current.certPem}`;
    if (!this.#o.renewNow || this.#renewRequested === key) return;
    let issuer: string;
    try {
      const leaf = await verifyLeaf({ certPem: current.certPem, bundle: TrustBundle.fromPem(current.trustBundle), now: this.#o.clock.now(), usage: 'clientAuth' });
      issuer = leaf.issuerFingerprint;
    } catch {
      return; // an unusable certificate is the rotator's business
    }
    if (issuer === issuing) return;
    this.#renewRequested = key;
    this.#log.info({ issuer, issuing }, 'certificate comes from another root than the issuing one: renewing now');
    try {
      await this.#o.renewNow(`CA rollover: the broker issues from ${issuing}`);
    } catch (err) {
      this.#renewRequested = '';
      this.#log.warn({ err }, 'renewal for CA rollover failed; the next round tries again');
    }
  }

  #api(id: StoredIdentity): TrustBundleApi {
    const key = `${id.certPem}\n${id.trustBundle}`;
    if (this.#client?.key !== key) {
      void this.#client?.api.close();
      this.#client = { key, api: this.#o.connect(id) };
    }
    return this.#client.api;
  }
}
