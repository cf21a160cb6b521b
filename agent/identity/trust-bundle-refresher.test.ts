import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { TrustBundleAckResponse } from '../../broker/api/ca.ts';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import type { AgentError } from '../errors.ts';
import type { Timers } from '../timing/clock.ts';
import type { StoredIdentity } from './identity-store.ts';
import { LiveIdentity } from './live-identity.ts';
import { TrustBundleRefresher, type TrustBundleApi } from './trust-bundle-refresher.ts';

const now = new Date('2030-06-15T12:00:00Z');
const clusterset = 'acme.example';
const noTimers: Timers = { setTimeout: () => undefined, clearTimeout: () => undefined };

async function root(): Promise<CertificateAuthority> {
  return (await createRootCa({ clusterset, now })).ca;
}

async function identityFrom(ca: CertificateAuthority, bundle: CertificateAuthority[]): Promise<StoredIdentity> {
  const keys = await generateKeyPair('P-256');
  const issued = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: 'east', identity: { trustDomain: clusterset, kind: 'cluster', name: 'east' },
    usages: ['clientAuth', 'serverAuth'], lifetimeSeconds: 3600, now,
  });
  return {
    clusterId: 'east', identity: `spiffe://${clusterset}/cluster/east`, brokerUrl: 'https://broker.invalid', certPem: issued.certPem,
    keyPem: await exportPrivateKeyPem(keys.privateKey), trustBundle: bundle.map((c) => c.certPem).join(''), notAfter: issued.notAfter.toISOString(),
  };
}

/** A broker that serves `bundle` and `issuing`, and records every acknowledgement. */
function fakeBroker(state: { bundle: CertificateAuthority[]; issuing: CertificateAuthority; clusterset?: string }) {
  const acks: string[][] = [];
  const connect = (): TrustBundleApi => ({
    ackTrustBundle: async (fingerprints): Promise<TrustBundleAckResponse> => {
      acks.push(fingerprints);
      return {
        clusterset: state.clusterset ?? clusterset, trustBundle: state.bundle.map((c) => c.certPem).join(''),
        fingerprints: state.bundle.map((c) => fingerprintSha256(c.cert)), issuingFingerprint: fingerprintSha256(state.issuing.cert),
      };
    },
    close: async () => undefined,
  });
  return { acks, connect };
}

function refresher(identity: LiveIdentity, connect: () => TrustBundleApi, renewed: string[]) {
  return new TrustBundleRefresher({
    identity, connect, intervalMs: 1000, timers: noTimers, clock: { now: () => now }, logger: pino({ level: 'silent' }),
    renewNow: async (reason) => void renewed.push(reason),
  });
}

describe('TrustBundleRefresher', () => {
  it('takes a bundle that adds a root, persists it, and acknowledges the new roots', async () => {
    const [a, b] = [await root(), await root()];
    const live = new LiveIdentity(await identityFrom(a, [a]));
    const broker = fakeBroker({ bundle: [a, b], issuing: a });
    const renewed: string[] = [];
    expect(await refresher(live, broker.connect, renewed).refreshOnce()).toBe('updated');
    expect(live.current().trustBundle).toBe(a.certPem + b.certPem);
    expect(broker.acks).toEqual([[fingerprintSha256(a.cert)], [fingerprintSha256(a.cert), fingerprintSha256(b.cert)]]);
    expect(renewed).toEqual([]);
  });

  it('acknowledges an unchanged bundle without touching the identity', async () => {
    const a = await root();
    const live = new LiveIdentity(await identityFrom(a, [a]));
    let updates = 0;
    live.subscribe(() => updates++);
    const broker = fakeBroker({ bundle: [a], issuing: a });
    expect(await refresher(live, broker.connect, []).refreshOnce()).toBe('unchanged');
    expect(updates).toBe(0);
    expect(broker.acks).toHaveLength(1);
  });

  it('renews once when the issuing root is not the one that issued the certificate', async () => {
    const [a, b] = [await root(), await root()];
    const live = new LiveIdentity(await identityFrom(a, [a, b]));
    const broker = fakeBroker({ bundle: [a, b], issuing: b });
    const renewed: string[] = [];
    const r = refresher(live, broker.connect, renewed);
    await r.refreshOnce();
    await r.refreshOnce();
    expect(renewed).toHaveLength(1);
    await live.update(await identityFrom(b, [a, b]));
    await r.refreshOnce();
    expect(renewed).toHaveLength(1);
  });

  it('refuses a bundle that shares no root with the trusted one (no trust jump)', async () => {
    const [a, c] = [await root(), await root()];
    const live = new LiveIdentity(await identityFrom(a, [a]));
    const before = live.current();
    const broker = fakeBroker({ bundle: [c], issuing: c });
    const err = await refresher(live, broker.connect, []).refreshOnce().catch((e: unknown) => e);
    expect((err as AgentError).code).toBe('PLX_AGENT_TRUST_BUNDLE_REJECTED');
    expect(live.current()).toBe(before);
  });

  it('refuses a bundle of another clusterset', async () => {
    const [a, b] = [await root(), await root()];
    const live = new LiveIdentity(await identityFrom(a, [a]));
    const broker = fakeBroker({ bundle: [a, b], issuing: a, clusterset: 'other.example' });
    const err = await refresher(live, broker.connect, []).refreshOnce().catch((e: unknown) => e);
    expect((err as AgentError).code).toBe('PLX_AGENT_TRUST_BUNDLE_REJECTED');
  });

  it('follows the removal of the old root once the new one is trusted', async () => {
    const [a, b] = [await root(), await root()];
    const live = new LiveIdentity(await identityFrom(b, [a, b]));
    const broker = fakeBroker({ bundle: [b], issuing: b });
    expect(await refresher(live, broker.connect, []).refreshOnce()).toBe('updated');
    expect(live.current().trustBundle).toBe(b.certPem);
  });
});

describe('TrustBundleRefresher and a renewal at the same time', () => {
  it('keeps the renewed certificate when the bundle write is queued behind it (regression: lost update)', async () => {
    const [a, b] = [await root(), await root()];
    let release: () => void = () => undefined;
    const saving = new Promise<void>((r) => { release = r; });
    // The renewal's save is still running when the refresher queues its bundle change.
    const store = { location: 'memory', load: async () => null, preflight: async () => undefined, save: () => saving };
    const live = new LiveIdentity(await identityFrom(a, [a]), store);
    const renewedId = await identityFrom(a, [a]);
    const renewal = live.update(renewedId);
    const identity = {
      current: () => live.current(),
      modify: (change: Parameters<LiveIdentity['modify']>[0]) => {
        const queued = live.modify(change);
        release();
        return queued;
      },
    };
    const broker = fakeBroker({ bundle: [a, b], issuing: a });
    const r = new TrustBundleRefresher({ identity, connect: broker.connect, intervalMs: 1000, timers: noTimers, clock: { now: () => now }, logger: pino({ level: 'silent' }) });
    await r.refreshOnce();
    await renewal;
    expect(live.current().certPem).toBe(renewedId.certPem);
    expect(live.current().trustBundle).toBe(a.certPem + b.certPem);
  });
});
