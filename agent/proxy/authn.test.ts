import { describe, expect, it } from 'vitest';
import { createRootCa } from '../../certs/ca.ts';
import type { Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { generateKeyPair } from '../../certs/keys.ts';
import { decodePemBlocks } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { ProxyAuthenticator } from './authn.ts';
import { RevokedUsers } from './revoked-users.ts';

const T0 = new Date('2030-01-01T00:00:00Z');
const clusterset = 'acme.example';

async function setup() {
  const { ca } = await createRootCa({ clusterset, now: T0 });
  const revoked = new RevokedUsers();
  revoked.applyList([], T0);
  let now = T0;
  const authn = new ProxyAuthenticator({ trustBundle: TrustBundle.fromPem(ca.certPem), clusterset, now: () => now, revoked, maxStalenessMs: 7 * 24 * 3600_000 });
  const issue = async (o: { identity?: Identity; commonName?: string; organizations?: string[]; lifetimeSeconds?: number; by?: typeof ca } = {}) => {
    const keys = await generateKeyPair();
    const issued = await issueCertificate({
      ca: o.by ?? ca, publicKey: keys.publicKey, commonName: o.commonName ?? 'alice', organizations: o.organizations ?? ['dev'],
      identity: o.identity ?? { trustDomain: clusterset, kind: 'user', name: 'alice' },
      usages: ['clientAuth'], lifetimeSeconds: o.lifetimeSeconds ?? 3600, now: T0,
    });
    return decodePemBlocks(issued.certPem, 'CERTIFICATE')[0]!;
  };
  return { authn, issue, revoked, setNow: (d: Date) => { now = d; } };
}

describe('ProxyAuthenticator', () => {
  it('takes the user from the SPIFFE URI (not the CN) and the groups from O=', async () => {
    const { authn, issue } = await setup();
    const id = await authn.authenticate(await issue({ commonName: 'admin', organizations: ['dev', 'ops'] }));
    expect(id.user).toBe('alice');
    expect(id.groups).toEqual(['dev', 'ops']);
  });

  it('requires a certificate', async () => {
    const { authn } = await setup();
    await expect(authn.authenticate(undefined)).rejects.toMatchObject({ code: 'PLX_AGENT_PROXY_UNAUTHENTICATED' });
  });

  it('refuses a certificate from a foreign CA, even one naming the same clusterset and user', async () => {
    const { authn, issue } = await setup();
    const { ca: foreign } = await createRootCa({ clusterset, now: T0 });
    await expect(authn.authenticate(await issue({ by: foreign }))).rejects.toMatchObject({ code: 'PLX_AGENT_PROXY_CERT_UNTRUSTED' });
  });

  it('refuses an identity of another trust domain and non-user identities', async () => {
    const { authn, issue } = await setup();
    await expect(authn.authenticate(await issue({ identity: { trustDomain: 'evil.example', kind: 'user', name: 'alice' } })))
      .rejects.toMatchObject({ code: 'PLX_AGENT_PROXY_CERT_UNTRUSTED' });
    await expect(authn.authenticate(await issue({ identity: { trustDomain: clusterset, kind: 'cluster', name: 'east-1' }, commonName: 'east-1' })))
      .rejects.toMatchObject({ code: 'PLX_AGENT_PROXY_NOT_A_USER' });
  });

  it('refuses an expired certificate at connect and on a later request of a verified connection', async () => {
    const { authn, issue, setNow } = await setup();
    const der = await issue({ lifetimeSeconds: 600 });
    const id = await authn.authenticate(der);
    setNow(new Date(T0.getTime() + 601_000));
    expect(() => authn.check(id)).toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_CERT_EXPIRED' }));
    await expect(authn.authenticate(der)).rejects.toMatchObject({ code: 'PLX_AGENT_PROXY_CERT_EXPIRED' });
  });

  it('refuses a revoked user from the next request on', async () => {
    const { authn, issue, revoked } = await setup();
    const id = await authn.authenticate(await issue());
    revoked.add('alice');
    expect(() => authn.check(id)).toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_USER_REVOKED' }));
  });

  // A cut-off agent kept serving on the list it had: a person revoked during the outage kept
  // access through that cluster for as long as the outage lasted.
  it('an agent cut off from the broker stops serving people once its revocation list is older than maxStalenessMs, and recovers on the next update', async () => {
    const { ca } = await createRootCa({ clusterset, now: T0 });
    let now = T0;
    const revoked = new RevokedUsers();
    revoked.applyList([], T0);
    const authn = new ProxyAuthenticator({ trustBundle: TrustBundle.fromPem(ca.certPem), clusterset, now: () => now, revoked, maxStalenessMs: 300_000 });
    const bob = { user: 'bob', groups: [], notAfter: new Date(T0.getTime() + 3600_000) };
    now = new Date(T0.getTime() + 300_000);
    expect(() => authn.check(bob)).not.toThrow();
    now = new Date(T0.getTime() + 300_001);
    expect(() => authn.check(bob)).toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_REVOCATIONS_STALE', status: 503 }));
    expect(authn.revocationsStale()).toMatch(/no revocation update from the broker for 300 s \(limit 300 s/);
    // A watch bookmark (the stream caught up with the broker) makes it current again.
    revoked.markCurrent(now);
    expect(() => authn.check(bob)).not.toThrow();
    // ... and so does a full list, as of when it was asked for; revocations in it apply at once.
    now = new Date(T0.getTime() + 900_000);
    expect(() => authn.check(bob)).toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_REVOCATIONS_STALE' }));
    revoked.applyList(['bob'], new Date(now.getTime() - 1000));
    expect(() => authn.check(bob)).toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_USER_REVOKED' }));
    expect(() => authn.check({ ...bob, user: 'carol' })).not.toThrow();
  });

  it('refuses everyone until the revocation list has been loaded (fail closed)', async () => {
    const { ca } = await createRootCa({ clusterset, now: T0 });
    const authn = new ProxyAuthenticator({ trustBundle: TrustBundle.fromPem(ca.certPem), clusterset, now: () => T0, revoked: new RevokedUsers(), maxStalenessMs: 300_000 });
    expect(() => authn.check({ user: 'alice', groups: [], notAfter: new Date(T0.getTime() + 1000) }))
      .toThrow(expect.objectContaining({ code: 'PLX_AGENT_PROXY_NOT_READY' }));
  });
});
