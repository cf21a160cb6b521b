// Renewing after expiry on a real broker over real TLS: a cluster whose agent could not
// reach the broker before its certificate expired (broker outage) renews with that
// certificate within the grace, on POST /v1/renew only and only with its newest
// certificate; every other endpoint, an older certificate, a removed cluster and a
// certificate past the grace are refused with stable codes.
import { afterEach, describe, expect, it } from 'vitest';
import { identityResponseSchema, paths } from '../../broker/api/types.ts';
import { rbacPaths } from '../../broker/api/rbac.ts';
import {
  clusterCsr, clusterKeys, errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker,
} from './support/broker-fixture.ts';

const LIFETIME_S = 600;
const GRACE_S = 3600;

describe('renewal after expiry (broker outage)', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  async function broker(grace = GRACE_S): Promise<TestBroker> {
    b = await startTestBroker({ config: { clusterCertLifetimeSeconds: LIFETIME_S, clusterRenewGraceSeconds: grace } });
    return b;
  }

  async function renew(t: TestBroker, identity: ClientIdentity) {
    const keys = await clusterKeys();
    const r = await t.call(paths.renew, { body: { csr: await clusterCsr(keys, t.clusterset, 'east-1') }, identity });
    return { r, keys };
  }

  it('renews with the newest certificate within the grace; other endpoints refuse it', async () => {
    const t = await broker();
    const east = await joinCluster(t, 'east-1');
    t.clock.advance(LIFETIME_S + GRACE_S - 60);
    const baseline = await t.call(rbacPaths.baseline, { identity: east.identity });
    expect(baseline.status).toBe(401);
    expect(errorCode(baseline)).toBe('PLX_BROKER_CERT_EXPIRED');
    const { r, keys } = await renew(t, east.identity);
    expect(r.status).toBe(200);
    const fresh = identityResponseSchema.parse(r.body);
    expect(Date.parse(fresh.notAfter)).toBe(Math.floor(t.clock.now().getTime() / 1000) * 1000 + LIFETIME_S * 1000);
    const again = await t.call(rbacPaths.baseline, { identity: { certPem: fresh.certificate, keyPem: keys.keyPem } });
    expect(again.status).toBe(200);
  });

  it('refuses an expired certificate once a newer one was issued', async () => {
    const t = await broker();
    const east = await joinCluster(t, 'east-1');
    const first = await renew(t, east.identity);
    expect(first.r.status).toBe(200);
    t.clock.advance(LIFETIME_S + 60);
    const stale = await renew(t, east.identity);
    expect(stale.r.status).toBe(401);
    expect(errorCode(stale.r)).toBe('PLX_BROKER_CERT_EXPIRED');
  });

  it('refuses past the grace, with the grace off, and for a removed cluster', async () => {
    const t = await broker();
    const east = await joinCluster(t, 'east-1');
    t.clock.advance(LIFETIME_S + GRACE_S + 60);
    expect(errorCode((await renew(t, east.identity)).r)).toBe('PLX_BROKER_CERT_EXPIRED');
    await t.stop();

    const off = await broker(0);
    const west = await joinCluster(off, 'east-1');
    off.clock.advance(LIFETIME_S + 60);
    expect(errorCode((await renew(off, west.identity)).r)).toBe('PLX_BROKER_CERT_EXPIRED');
    await off.stop();

    const removed = await broker();
    const north = await joinCluster(removed, 'east-1');
    expect((await removed.call(paths.adminCluster('east-1'), { method: 'DELETE', identity: removed.admin })).status).toBe(200);
    removed.clock.advance(LIFETIME_S + 60);
    expect(errorCode((await renew(removed, north.identity)).r)).toBe('PLX_BROKER_CLUSTER_REVOKED');
  });
});
