// Client-certificate authentication and authorization on a real broker: renewal, foreign
// and expired certificates, admin vs cluster identities, and revocation by removal.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterListResponseSchema, identityResponseSchema, paths } from '../../broker/api/types.ts';
import { createRootCa } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { tokenState } from '../../broker/enroll/token-record.ts';
import {
  clusterCsr, clusterKeys, createToken, errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker,
} from './support/broker-fixture.ts';

describe('broker authentication', () => {
  let b: TestBroker;
  beforeEach(async () => {
    b = await startTestBroker();
  });
  afterEach(async () => {
    await b.stop();
  });

  async function renew(identity: ClientIdentity | undefined, csr: string) {
    return b.call(paths.renew, { body: { csr }, ...(identity ? { identity } : {}) });
  }

  it('renews a cluster with its current certificate, and the new certificate works', async () => {
    const east = await joinCluster(b, 'east-1');
    const keys2 = await clusterKeys();
    const r = await renew(east.identity, await clusterCsr(keys2, b.clusterset, 'east-1'));
    expect(r.status).toBe(200);
    const res = identityResponseSchema.parse(r.body);
    expect(res.identity).toBe(`spiffe://${b.clusterset}/cluster/east-1`);
    const again = await renew({ certPem: res.certificate, keyPem: keys2.keyPem }, await clusterCsr(keys2, b.clusterset, 'east-1'));
    expect(again.status).toBe(200);
  });

  it('a cluster certificate superseded by a renewal renews no more (a stolen old certificate lived as long as the cluster)', async () => {
    const east = await joinCluster(b, 'east-1');
    const csr = () => clusterCsr(east.keys, b.clusterset, 'east-1');
    const first = east.identity;
    const second = { certPem: identityResponseSchema.parse((await renew(first, await csr())).body).certificate, keyPem: east.keys.keyPem };
    const third = { certPem: identityResponseSchema.parse((await renew(second, await csr())).body).certificate, keyPem: east.keys.keyPem };
    // The agent uses its new certificate (every beat does); from then on the older ones are dead.
    expect((await b.call('/v1/advertisements', { identity: third })).status).toBe(200);
    for (const old of [first, second]) {
      const r = await renew(old, await csr());
      expect(r.status).toBe(401);
      expect(errorCode(r)).toBe('PLX_BROKER_CERT_SUPERSEDED');
    }
    expect((await renew(third, await csr())).status).toBe(200);
  });

  it('a renewal whose answer was lost is retried with the certificate the agent holds (superseded-only-when-used)', async () => {
    const east = await joinCluster(b, 'east-1');
    const csr = () => clusterCsr(east.keys, b.clusterset, 'east-1');
    // Two answers lost on the way back: the broker issued, the agent never got them.
    expect((await renew(east.identity, await csr())).status).toBe(200);
    expect((await renew(east.identity, await csr())).status).toBe(200);
    const held = identityResponseSchema.parse((await renew(east.identity, await csr())).body);
    const current = { certPem: held.certificate, keyPem: east.keys.keyPem };
    expect((await b.call('/v1/advertisements', { identity: current })).status).toBe(200);
    const r = await renew(east.identity, await csr());
    expect([r.status, errorCode(r)]).toEqual([401, 'PLX_BROKER_CERT_SUPERSEDED']);
    expect((await renew(current, await csr())).status).toBe(200);
  });

  it('refuses a renewal that asks for another identity', async () => {
    const east = await joinCluster(b, 'east-1');
    const keys = await clusterKeys();
    for (const csr of [
      await clusterCsr(keys, b.clusterset, 'west-1'),
      await clusterCsr(keys, b.clusterset, 'east-1', { identity: { trustDomain: b.clusterset, kind: 'admin', name: 'admin' } }),
    ]) {
      const r = await renew(east.identity, csr);
      expect(r.status).toBe(403);
      expect(errorCode(r)).toBe('PLX_BROKER_CSR_IDENTITY_MISMATCH');
    }
    expect(await b.broker.store.getCluster('west-1')).toBeUndefined();
  });

  it('requires a client certificate', async () => {
    const csr = await clusterCsr(await clusterKeys(), b.clusterset, 'east-1');
    expect(errorCode(await renew(undefined, csr))).toBe('PLX_BROKER_UNAUTHENTICATED');
    expect(errorCode(await b.call(paths.adminClusters))).toBe('PLX_BROKER_UNAUTHENTICATED');
  });

  it('rejects a certificate from a foreign CA, even one naming the same clusterset and cluster', async () => {
    const east = await joinCluster(b, 'east-1');
    const { ca: foreign } = await createRootCa({ clusterset: b.clusterset, now: b.clock.now() });
    const keys = await clusterKeys();
    const issued = await issueCertificate({
      ca: foreign, publicKey: east.keys.keys.publicKey, commonName: 'east-1', usages: ['clientAuth'],
      identity: { trustDomain: b.clusterset, kind: 'cluster', name: 'east-1' }, lifetimeSeconds: 3600, now: b.clock.now(),
    });
    const forged = { certPem: issued.certPem, keyPem: east.keys.keyPem };
    const r = await renew(forged, await clusterCsr(keys, b.clusterset, 'east-1'));
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('PLX_BROKER_CERT_UNTRUSTED');
    const adminForged = await issueCertificate({
      ca: foreign, publicKey: east.keys.keys.publicKey, commonName: 'admin', usages: ['clientAuth'],
      identity: { trustDomain: b.clusterset, kind: 'admin', name: 'admin' }, lifetimeSeconds: 3600, now: b.clock.now(),
    });
    const a = await b.call(paths.adminClusters, { identity: { certPem: adminForged.certPem, keyPem: east.keys.keyPem } });
    expect(errorCode(a)).toBe('PLX_BROKER_CERT_UNTRUSTED');
  });

  it('rejects an expired certificate beyond the renewal grace (the clock moves, nobody sleeps)', async () => {
    const east = await joinCluster(b, 'east-1');
    // Lifetime 24 h, then the default 24 h in which only /v1/renew takes it (broker-renew-grace.test.ts).
    b.clock.advance(48 * 3600 + 1);
    const r = await renew(east.identity, await clusterCsr(await clusterKeys(), b.clusterset, 'east-1'));
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('PLX_BROKER_CERT_EXPIRED');
  });

  it('keeps cluster and admin identities apart', async () => {
    const east = await joinCluster(b, 'east-1');
    for (const [path, method] of [[paths.adminClusters, 'GET'], [paths.adminTokens, 'GET'], [paths.adminCluster('east-1'), 'DELETE']] as const) {
      const r = await b.call(path, { method, identity: east.identity });
      expect(r.status).toBe(403);
      expect(errorCode(r)).toBe('PLX_BROKER_FORBIDDEN');
    }
    const forbidden = await b.call(paths.adminTokens, { body: { cluster: 'evil-1' }, identity: east.identity });
    expect(errorCode(forbidden)).toBe('PLX_BROKER_FORBIDDEN');
    expect((await b.broker.store.listTokens()).filter((t) => t.subject === 'evil-1')).toHaveLength(0);
    const adminRenew = await renew(b.admin, await clusterCsr(await clusterKeys(), b.clusterset, 'east-1'));
    expect(adminRenew.status).toBe(403);
    expect(errorCode(adminRenew)).toBe('PLX_BROKER_FORBIDDEN');
    expect(await b.broker.store.getCluster('east-1')).toMatchObject({ state: 'active' });
  });

  it('rejects a removed cluster everywhere at once; it rejoins only with a new token, and old certificates stay dead', async () => {
    const east = await joinCluster(b, 'east-1');
    const renewed = await renew(east.identity, await clusterCsr(east.keys, b.clusterset, 'east-1'));
    const second = { certPem: identityResponseSchema.parse(renewed.body).certificate, keyPem: east.keys.keyPem };
    const west = await joinCluster(b, 'west-1');

    const removed = await b.call(paths.adminCluster('east-1'), { method: 'DELETE', identity: b.admin });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ id: 'east-1', state: 'removed' });
    for (const id of [east.identity, second]) {
      const r = await renew(id, await clusterCsr(east.keys, b.clusterset, 'east-1'));
      expect(r.status).toBe(401);
      expect(errorCode(r)).toBe('PLX_BROKER_CLUSTER_REVOKED');
    }
    // Removal is per cluster: west-1 is untouched.
    expect((await renew(west.identity, await clusterCsr(west.keys, b.clusterset, 'west-1'))).status).toBe(200);

    const rejoined = await joinCluster(b, 'east-1');
    expect(await b.broker.store.getCluster('east-1')).toMatchObject({ state: 'active', epoch: 2 });
    expect((await renew(rejoined.identity, await clusterCsr(rejoined.keys, b.clusterset, 'east-1'))).status).toBe(200);
    for (const old of [east.identity, second]) {
      expect(errorCode(await renew(old, await clusterCsr(east.keys, b.clusterset, 'east-1')))).toBe('PLX_BROKER_CLUSTER_REVOKED');
    }
  });

  it('refuses tokens for an active cluster and revokes tokens minted before a removal', async () => {
    const early = await createToken(b, 'east-1');
    await joinCluster(b, 'east-1');
    const whileActive = await b.call(paths.adminTokens, { body: { cluster: 'east-1' }, identity: b.admin });
    expect(errorCode(whileActive)).toBe('PLX_BROKER_CONFLICT');
    expect((await b.call(paths.adminCluster('east-1'), { method: 'DELETE', identity: b.admin })).status).toBe(200);
    expect(tokenState((await b.broker.store.getToken(early.id))!, b.clock.now())).toBe('revoked');
    const r = await b.call(paths.join, { body: { token: early.token, csr: await clusterCsr(await clusterKeys(), b.clusterset, 'east-1') } });
    expect(errorCode(r)).toBe('PLX_BROKER_TOKEN_REVOKED');
    expect(await b.broker.store.getCluster('east-1')).toMatchObject({ state: 'removed', epoch: 1 });
    const list = clusterListResponseSchema.parse((await b.call(paths.adminClusters, { identity: b.admin })).body);
    expect(list.clusters.map((c) => [c.id, c.state])).toEqual([['east-1', 'removed']]);
  });

  it('treats removal of a removed cluster as success and of an unknown one as not found', async () => {
    await joinCluster(b, 'east-1');
    const first = await b.call(paths.adminCluster('east-1'), { method: 'DELETE', identity: b.admin });
    const second = await b.call(paths.adminCluster('east-1'), { method: 'DELETE', identity: b.admin });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect((second.body as { removedAt: string }).removedAt).toBe((first.body as { removedAt: string }).removedAt);
    const unknown = await b.call(paths.adminCluster('ghost-1'), { method: 'DELETE', identity: b.admin });
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('PLX_BROKER_NOT_FOUND');
    expect(await b.broker.store.getCluster('ghost-1')).toBeUndefined();
  });
});
