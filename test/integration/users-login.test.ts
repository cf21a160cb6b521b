// Shared identities for people against a real broker over real TLS: invite, `plexus login`
// (key made here, only a CSR sent), renew with the current certificate, revoke (final,
// idempotent) and how revocation reaches every endpoint and the agents' watch stream.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advertisementPaths, clusterServerName } from '../../broker/api/advertisement.ts';
import { catalogPaths } from '../../broker/api/catalog.ts';
import { revokedUserListSchema, userPaths, type InviteUserResponse } from '../../broker/api/users.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { configDirLayout, loadIdentity } from '../../cli/user/config-dir.ts';
import { login, renew } from '../../cli/user/login.ts';
import { errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';

describe('shared identities for people', () => {
  let b: TestBroker;
  let home: string;
  beforeEach(async () => {
    b = await startTestBroker({ config: { userCertLifetimeSeconds: 3600 } });
    home = mkdtempSync(join(tmpdir(), 'plexus-user-it-'));
  });
  afterEach(async () => {
    await b.stop();
    rmSync(home, { recursive: true, force: true });
  });

  async function invite(name: string, groups: string[]): Promise<InviteUserResponse> {
    const r = await b.call(userPaths.adminUsers, { body: { name, groups }, identity: b.admin });
    expect(r.status).toBe(201);
    return r.body as InviteUserResponse;
  }

  const loginAs = async (inv: InviteUserResponse, dir = home) =>
    login({ broker: b.url, token: inv.token, caFingerprint: inv.caFingerprint, configDir: dir, now: () => new Date() });

  it('logs in with a one-time token: key stays local (0600), certificate names the user and groups', async () => {
    const inv = await invite('alice', ['dev', 'oncall']);
    const id = await loginAs(inv);
    const layout = configDirLayout(home);
    expect(statSync(layout.key).mode & 0o777).toBe(0o600);
    expect(statSync(layout.dir).mode & 0o777).toBe(0o700);
    const leaf = await verifyLeaf({ certPem: readFileSync(layout.cert, 'utf8'), bundle: TrustBundle.fromPem(b.caPem), now: new Date(), usage: 'clientAuth' });
    expect(leaf.identity).toEqual({ trustDomain: b.clusterset, kind: 'user', name: 'alice' });
    expect(leaf.organizations.sort()).toEqual(['dev', 'oncall']);
    expect(leaf.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(3600 * 1000);
    expect(id.profile.groups).toEqual(['dev', 'oncall']);
    expect(new X509Certificate(readFileSync(layout.cert)).checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(layout.key)))).toBe(true);
    // The token works once.
    await expect(loginAs(inv, join(home, 'second'))).rejects.toMatchObject({ code: 'PLX_BROKER_TOKEN_USED' });
  });

  it('renews with the current certificate, keeping the key; after revoke, renew fails with a stable code', async () => {
    await loginAs(await invite('bob', ['dev']));
    const before = loadIdentity(configDirLayout(home));
    const renewed = await renew({ configDir: home, now: () => new Date() });
    expect(renewed.certPem).not.toBe(before.certPem);
    expect(renewed.keyPem).toBe(before.keyPem);

    const first = await b.call(userPaths.adminUser('bob'), { method: 'DELETE', identity: b.admin });
    expect(first.status).toBe(200);
    expect((first.body as { state: string }).state).toBe('revoked');
    const again = await b.call(userPaths.adminUser('bob'), { method: 'DELETE', identity: b.admin });
    expect(again.status).toBe(200);
    await expect(renew({ configDir: home, now: () => new Date() })).rejects.toMatchObject({ code: 'PLX_BROKER_USER_REVOKED' });
    // Revocation is final for the name.
    const reinvite = await b.call(userPaths.adminUsers, { body: { name: 'bob', groups: [] }, identity: b.admin });
    expect(errorCode(reinvite)).toBe('PLX_BROKER_CONFLICT');
    expect(errorCode(await b.call(userPaths.adminUser('nobody'), { method: 'DELETE', identity: b.admin }))).toBe('PLX_BROKER_NOT_FOUND');
  });

  it('refuses a revoked user on every endpoint and announces it to agents (list + watch event)', async () => {
    const east = await joinCluster(b, 'east-1');
    const id = await loginAs(await invite('carol', ['dev']));
    const user = { certPem: id.certPem, keyPem: id.keyPem };
    expect((await b.call(advertisementPaths.advertisements, { identity: user })).status).toBe(200);
    // The revocation list is for clusters only.
    expect(errorCode(await b.call(userPaths.revoked, { identity: user }))).toBe('PLX_BROKER_FORBIDDEN');
    const since = b.broker.catalog.revision;

    await b.call(userPaths.adminUser('carol'), { method: 'DELETE', identity: b.admin });
    expect(errorCode(await b.call(advertisementPaths.advertisements, { identity: user }))).toBe('PLX_BROKER_USER_REVOKED');
    const list = revokedUserListSchema.parse((await b.call(userPaths.revoked, { identity: east.identity })).body);
    expect(list.users.map((u) => u.name)).toEqual(['carol']);

    const dispatcher = new Agent({ connect: { ca: b.caPem, cert: east.identity.certPem, key: east.identity.keyPem } });
    try {
      const res = await request(new URL(catalogPaths.watch(since), b.url), { dispatcher });
      let text = '';
      for await (const chunk of res.body) {
        text += chunk.toString();
        if (text.includes('"user-revoked"') && text.endsWith('\n')) break;
      }
      const event = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; name?: string }).find((e) => e.type === 'user-revoked');
      expect(event?.name).toBe('carol');
    } finally {
      await dispatcher.destroy();
    }
  });

  it('issues cluster certificates with the DNS SAN kubectl verifies (tls-server-name)', async () => {
    const east = await joinCluster(b, 'east-1');
    const cert = new X509Certificate(east.response.certificate);
    expect(cert.subjectAltName).toContain(`DNS:${clusterServerName('east-1', b.clusterset)}`);
    expect(cert.checkHost(clusterServerName('east-1', b.clusterset))).toBe(clusterServerName('east-1', b.clusterset));
  });
});
