// The broker's access table over real mTLS (the whole matrix runs through app.inject() in
// broker/http/route-access.test.ts). Regression: the read-only metrics identity
// (spiffe://<cs>/admin/metrics) was admitted to GET /v1/advertisements, because that scope
// let in every identity of kind "admin"; the README promises it reads /metrics and nothing else.
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advertisementPaths } from '../../broker/api/advertisement.ts';
import { metricsPaths } from '../../broker/api/metrics.ts';
import { createCsr } from '../../certs/csr.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

describe('broker access table over mTLS', () => {
  let b: TestBroker;
  let metrics: ClientIdentity;

  beforeAll(async () => {
    b = await startTestBroker();
    const keys = await generateKeyPair('P-256');
    const r = await b.call(metricsPaths.adminIdentity, { body: { csr: await createCsr({ keys, commonName: 'prometheus' }) }, identity: b.admin });
    expect(r.status).toBe(201);
    metrics = { certPem: (r.body as { certificate: string }).certificate, keyPem: await exportPrivateKeyPem(keys.privateKey) };
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('the metrics identity cannot read /v1/advertisements (it could: every admin-kind identity was let in)', async () => {
    const r = await b.call(advertisementPaths.advertisements, { identity: metrics });
    expect([r.status, errorCode(r)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    // Members still read it.
    const east = await joinCluster(b, 'east');
    expect((await b.call(advertisementPaths.advertisements, { identity: east.identity })).status).toBe(200);
    expect((await b.call(advertisementPaths.advertisements, { identity: b.admin })).status).toBe(200);
  });

  it('the metrics identity still reads /metrics', async () => {
    const dispatcher = new Agent({ connect: { ca: b.caPem, cert: metrics.certPem, key: metrics.keyPem } });
    try {
      const res = await request(new URL(metricsPaths.scrape, b.url), { dispatcher });
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(text).toContain('# TYPE');
    } finally {
      await dispatcher.close();
    }
  });
});
