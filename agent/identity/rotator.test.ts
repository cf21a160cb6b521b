import '../../certs/setup.ts';
import type { webcrypto } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { IdentityResponse, RenewRequest } from '../../broker/api/types.ts';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { readCsr } from '../../certs/csr.ts';
import { formatIdentity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { AgentError } from '../errors.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { IdentityStore, StoredIdentity } from './identity-store.ts';
import { LiveIdentity } from './live-identity.ts';
import { certificateDates } from './renew-identity.ts';
import { CertificateRotator, type RotationNotices } from './rotator.ts';

const CLUSTERSET = 'unit.plexus.local';
const LIFETIME_S = 3000;
const id = { trustDomain: CLUSTERSET, kind: 'cluster' as const, name: 'east-1' };

async function issue(ca: CertificateAuthority, publicKey: webcrypto.CryptoKey, now: Date) {
  return issueCertificate({ ca, publicKey, commonName: 'east-1', identity: id, usages: ['clientAuth', 'serverAuth'], lifetimeSeconds: LIFETIME_S, now });
}

class MemoryStore implements IdentityStore {
  readonly location = 'memory';
  saved: StoredIdentity[] = [];
  async load() { return this.saved.at(-1) ?? null; }
  async preflight() {}
  async save(i: StoredIdentity) { this.saved.push(i); }
}

type Outcome = 'ok' | AgentError;

async function setup(o: { random?: () => number; outcomes?: Outcome[] } = {}) {
  const timers = new FakeTimers(Date.UTC(2026, 0, 1));
  const { ca } = await createRootCa({ clusterset: CLUSTERSET, now: timers.now() });
  const keys = await generateKeyPair();
  const first = await issue(ca, keys.publicKey, timers.now());
  const initial: StoredIdentity = {
    clusterId: 'east-1', identity: formatIdentity(id), brokerUrl: 'https://broker.test:7443',
    certPem: first.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey), trustBundle: ca.certPem, notAfter: first.notAfter.toISOString(),
  };
  const store = new MemoryStore();
  const live = new LiveIdentity(initial, store);
  const outcomes = [...(o.outcomes ?? [])];
  const csrs: string[] = [];
  const renew = async (body: RenewRequest): Promise<IdentityResponse> => {
    csrs.push(body.csr);
    const next = outcomes.shift() ?? 'ok';
    if (next !== 'ok') throw next;
    const csr = await readCsr(body.csr);
    const issued = await issue(ca, csr.publicKey, timers.now());
    return { clusterId: 'east-1', identity: formatIdentity(id), certificate: issued.certPem, trustBundle: ca.certPem, notAfter: issued.notAfter.toISOString() };
  };
  const notices = { expiring: vi.fn<RotationNotices['expiring']>(), refused: vi.fn<RotationNotices['refused']>() };
  const metrics = new AgentMetrics({ defaultMetrics: false });
  const rotator = new CertificateRotator({
    identity: live, renew, logger: pino({ level: 'silent' }), clock: timers, timers, random: o.random ?? (() => 0.5),
    retry: { baseMs: 1000, maxMs: 8000, jitter: 0 }, notices, metrics,
  });
  const gauge = async (g: 'certificateExpiring' | 'certificateNotAfter') => (await metrics[g].get()).values[0]?.value;
  const rotations = async (outcome: string) => (await metrics.rotations.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  const roots = async () => (await metrics.trustBundleRoots.get()).values[0]?.value;
  return { timers, live, store, csrs, rotator, notices, gauge, rotations, initial, roots, ca };
}

const unreachable = () => new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'connection refused');

describe('CertificateRotator', () => {
  it('plans the renewal at 2/3 of the life, moved by ±10% jitter', async () => {
    for (const [r, share] of [[0.5, 2 / 3], [0, 2 / 3 - 0.1], [0.999, 2 / 3 + 0.1 * 0.998]] as const) {
      const t = await setup({ random: () => r });
      t.rotator.start();
      expect(t.timers.pendingDelays()).toEqual([Math.floor(LIFETIME_S * 1000 * share)]);
      await t.rotator.stop();
    }
  });

  it('renews with a fresh key when due; the new identity is stored, then made current', async () => {
    const t = await setup();
    const seen: StoredIdentity[] = [];
    t.live.subscribe((next) => seen.push(next));
    t.rotator.start();
    t.timers.advance(2000_000);
    await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1), { interval: 1 });
    expect(t.csrs).toHaveLength(1);
    const now = t.live.current();
    expect(t.store.saved).toEqual([now]);
    expect(seen).toEqual([now]);
    expect(now.keyPem).not.toBe(t.initial.keyPem);
    expect(certificateDates(now.certPem).serial).not.toBe(certificateDates(t.initial.certPem).serial);
    expect(now.notAfter).toBe(new Date(t.timers.now().getTime() + LIFETIME_S * 1000).toISOString());
    // The next plan is measured from the new certificate.
    expect(t.timers.pendingDelays()).toEqual([2000_000]);
    expect(await t.rotations('success')).toBe(1);
    await t.rotator.stop();
  });

  it('backs off exponentially while the broker is unreachable, then renews', async () => {
    const t = await setup({ outcomes: [unreachable(), unreachable(), unreachable()] });
    t.rotator.start();
    t.timers.advance(2000_000);
    for (const delay of [1000, 2000, 4000]) {
      await vi.waitFor(() => expect(t.timers.pendingDelays()).toEqual([delay]));
      t.timers.advance(delay);
    }
    await vi.waitFor(() => expect(t.store.saved).toHaveLength(1));
    await vi.waitFor(() => expect(t.timers.pendingDelays()).toEqual([2000_000]));
    expect(t.csrs).toHaveLength(4);
    expect(new Set(t.csrs).size).toBe(4);
    expect(await t.rotations('failure')).toBe(3);
    await t.rotator.stop();
  });

  it('warns once when 10% of the life remains, and clears the warning after renewal', async () => {
    const t = await setup({ outcomes: Array.from({ length: 200 }, unreachable) });
    t.rotator.start();
    expect(await t.gauge('certificateNotAfter')).toBe(Date.parse(t.initial.notAfter) / 1000);
    t.timers.advance(2000_000);
    while (t.timers.now().getTime() < Date.UTC(2026, 0, 1) + 2700_000) {
      await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1), { interval: 1 });
      t.timers.fireNext();
    }
    await vi.waitFor(() => expect(t.notices.expiring).toHaveBeenCalledTimes(1));
    expect(t.notices.expiring.mock.calls[0]![0]).toEqual({ serial: certificateDates(t.initial.certPem).serial, notAfter: new Date(t.initial.notAfter) });
    expect(await t.gauge('certificateExpiring')).toBe(1);
    // Renewal keeps being retried, at most 2 s apart now (backoff max 8 s before); the
    // warning is not repeated for the same certificate.
    for (let i = 0; i < 5; i++) {
      await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1), { interval: 1 });
      // (the first one may be left from a retry planned before the warning)
      if (i > 0) expect(t.timers.pendingDelays()[0]).toBeLessThanOrEqual(2000);
      t.timers.fireNext();
    }
    expect(t.notices.expiring).toHaveBeenCalledTimes(1);
    await t.rotator.stop();
    const outcomes: Outcome[] = [];
    const r = await setup({ outcomes });
    r.rotator.start();
    r.timers.advance(2000_000);
    await vi.waitFor(() => expect(r.store.saved).toHaveLength(1));
    expect(await r.gauge('certificateExpiring')).toBe(0);
    await r.rotator.stop();
  });

  it('keeps retrying after the certificate expired (the broker renews within its grace)', async () => {
    const t = await setup({ outcomes: Array.from({ length: 3 }, unreachable) });
    t.rotator.start();
    t.timers.advance(LIFETIME_S * 1000 + 5000);
    await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1), { interval: 1 });
    while (t.store.saved.length === 0) {
      t.timers.fireNext();
      await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1), { interval: 1 });
    }
    expect(Date.parse(t.live.current().notAfter)).toBeGreaterThan(t.timers.now().getTime());
    await t.rotator.stop();
  });

  it('stops with PLX_AGENT_IDENTITY_SUPERSEDED when the broker says a later renewal superseded this certificate (retrying cannot succeed)', async () => {
    const refusal = new AgentError('PLX_AGENT_BROKER_REJECTED', 'superseded', { status: 401, brokerCode: 'PLX_BROKER_CERT_SUPERSEDED' });
    const t = await setup({ outcomes: [refusal] });
    t.rotator.start();
    await expect(t.rotator.renewNow('test')).rejects.toMatchObject({ code: 'PLX_AGENT_IDENTITY_SUPERSEDED' });
    expect(t.notices.refused).toHaveBeenCalledWith(expect.objectContaining({ code: 'PLX_AGENT_IDENTITY_SUPERSEDED' }));
    expect(t.timers.pendingCount).toBe(0);
    await t.rotator.stop();
  });

  it('stops for good with a stable code when the broker refuses (expired beyond grace)', async () => {
    const refusal = new AgentError('PLX_AGENT_BROKER_REJECTED', 'expired', { status: 401, brokerCode: 'PLX_BROKER_CERT_EXPIRED' });
    const t = await setup({ outcomes: [refusal] });
    t.rotator.start();
    await expect(t.rotator.renewNow('test')).rejects.toMatchObject({ code: 'PLX_AGENT_IDENTITY_EXPIRED' });
    expect(t.notices.refused).toHaveBeenCalledWith(expect.objectContaining({ code: 'PLX_AGENT_IDENTITY_EXPIRED' }));
    expect(t.timers.pendingCount).toBe(0);
    expect(await t.rotations('refused')).toBe(1);
    // An explicit renewNow() that works (say after the broker was fixed) resumes the plan.
    await t.rotator.renewNow('operator');
    expect(t.timers.pendingDelays()).toEqual([2000_000]);
    await t.rotator.stop();
  });

  it('renewNow() renews at once and coalesces concurrent calls into one renewal', async () => {
    const t = await setup();
    t.rotator.start();
    await Promise.all([t.rotator.renewNow('ca-rollover'), t.rotator.renewNow('ca-rollover'), t.rotator.renewNow('test')]);
    expect(t.csrs).toHaveLength(1);
    expect(t.store.saved).toHaveLength(1);
    expect(t.timers.pendingDelays()).toEqual([2000_000]);
    await t.rotator.stop();
  });

  it('a trust-bundle-only update keeps the plan; stop() cancels it', async () => {
    const t = await setup();
    t.rotator.start();
    t.timers.advance(1000_000);
    await t.live.update({ ...t.live.current(), trustBundle: `${t.initial.trustBundle}` });
    expect(t.timers.pendingDelays()).toEqual([2000_000]);
    await t.rotator.stop();
    expect(t.timers.pendingCount).toBe(0);
    t.timers.advance(10_000_000);
    expect(t.csrs).toHaveLength(0);
  });
  it('plexus_agent_trust_bundle_roots stayed 0: the agent never reported how many roots it trusts, so a CA rollover could not be followed on it', async () => {
    const t = await setup();
    t.rotator.start();
    expect(await t.roots()).toBe(1);
    const { ca: other } = await createRootCa({ clusterset: CLUSTERSET, now: t.timers.now() });
    await t.live.modify((cur) => ({ ...cur, trustBundle: `${cur.trustBundle}${other.certPem}` }));
    expect(await t.roots()).toBe(2);
    await t.live.modify((cur) => ({ ...cur, trustBundle: other.certPem }));
    expect(await t.roots()).toBe(1);
    await t.rotator.stop();
  });
});
