import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { GatewayPki } from '../test/support/gateway-pki.ts';
import { authenticatePeer, streamRefusal, type VerifiedPeer } from './peer-auth.ts';

const T0 = new Date('2030-06-15T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('authenticatePeer (once per gateway connection)', () => {
  let pki: GatewayPki;
  let other: GatewayPki;
  let bundle: TrustBundle;
  const of = (certPem: string) => {
    const x = new X509Certificate(certPem);
    return { der: new Uint8Array(x.raw), subjectaltname: x.subjectAltName };
  };
  const auth = (certPem: string | undefined, now = at(1000)) => authenticatePeer({
    ...(certPem ? of(certPem) : { der: undefined, subjectaltname: undefined }), bundle, clusterset: 'acme.example', now,
  });

  beforeAll(async () => {
    pki = await GatewayPki.create('acme.example', T0);
    other = await GatewayPki.create('acme.example', T0);
    bundle = TrustBundle.fromPem(pki.rootPem);
  });

  it('admits a cluster of this clusterset, named exactly', async () => {
    const west = await pki.issue('west', { now: T0 });
    const r = await auth(west.certPem);
    expect(r).toMatchObject({ ok: true, peer: { cluster: 'west', identity: 'spiffe://acme.example/cluster/west', serial: west.serial } });
  });

  it('refuses no certificate (no-client-cert), another root of the same name (untrusted), another trust domain (other-clusterset), a user (not-a-cluster), an expired one (expired), each naming what the peer claimed', async () => {
    expect(await auth(undefined)).toMatchObject({ ok: false, reason: 'no-client-cert' });
    expect(await auth((await other.issue('west', { now: T0 })).certPem)).toMatchObject({ ok: false, reason: 'untrusted', claimed: 'spiffe://acme.example/cluster/west' });
    expect(await auth((await pki.issue('west', { now: T0, trustDomain: 'acme.evil' })).certPem)).toMatchObject({ ok: false, reason: 'other-clusterset', claimed: 'spiffe://acme.evil/cluster/west' });
    expect(await auth((await pki.issue('alice', { now: T0, kind: 'user' })).certPem)).toMatchObject({ ok: false, reason: 'not-a-cluster' });
    expect(await auth((await pki.issue('west', { now: T0, lifetimeSeconds: 60 })).certPem, at(120_000))).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('streamRefusal (on every stream)', () => {
  const peer: VerifiedPeer = { cluster: 'west', identity: 'spiffe://acme.example/cluster/west', serial: 'ab12', notAfter: at(60_000), issuerFingerprint: 'sha256:root1' };
  const bundle = (has: boolean) => ({ has: () => has }) as unknown as TrustBundle;
  const members = (isMember: boolean, revoked = false) => ({ isMember: () => isMember, isRevoked: () => revoked });

  it('admits a current member with a valid certificate under a trusted root', () => {
    expect(streamRefusal(peer, { membership: members(true), bundle: bundle(true), now: at(0) })).toBeNull();
  });

  it('refuses, on a connection admitted earlier: an expired certificate, a root removed by rollover, a revoked serial, a removed cluster', () => {
    expect(streamRefusal(peer, { membership: members(true), bundle: bundle(true), now: at(60_001) })).toBe('expired');
    expect(streamRefusal(peer, { membership: members(true), bundle: bundle(false), now: at(0) })).toBe('untrusted');
    expect(streamRefusal(peer, { membership: members(true, true), bundle: bundle(true), now: at(0) })).toBe('revoked');
    expect(streamRefusal(peer, { membership: members(false), bundle: bundle(true), now: at(0) })).toBe('not-a-member');
  });
});
