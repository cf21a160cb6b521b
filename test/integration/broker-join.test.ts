// POST /v1/join against a real broker over TLS 1.3: the happy path, one-time tokens, and
// every bad input, each followed by a check that nothing in the store changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, identityResponseSchema } from '../../broker/api/types.ts';
import { parseIdentity } from '../../certs/identity.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { tokenState } from '../../broker/enroll/token-record.ts';
import {
  clusterCsr, clusterKeys, createToken, errorCode, startTestBroker, type TestBroker,
} from './support/broker-fixture.ts';

describe('broker join', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
  });
  afterAll(async () => {
    await b.stop();
  });

  /** The token is still pending and the cluster has no row. */
  async function expectUnchanged(tokenId: string, clusterId: string): Promise<void> {
    const t = await b.broker.store.getToken(tokenId);
    expect(t && tokenState(t, b.clock.now())).toBe('pending');
    expect(await b.broker.store.getCluster(clusterId)).toBeUndefined();
  }

  it('issues a cluster certificate for a valid token and CSR', async () => {
    const { token } = await createToken(b, 'east-1');
    const keys = await clusterKeys();
    const r = await b.call(paths.join, { body: { token, csr: await clusterCsr(keys, b.clusterset, 'east-1') } });
    expect(r.status).toBe(201);
    const res = identityResponseSchema.parse(r.body);
    expect(res.clusterId).toBe('east-1');
    expect(parseIdentity(res.identity)).toEqual({ trustDomain: b.clusterset, kind: 'cluster', name: 'east-1' });
    const leaf = await verifyLeaf({ certPem: res.certificate, bundle: TrustBundle.fromPem(res.trustBundle), now: b.clock.now(), usage: 'clientAuth', trustDomain: b.clusterset });
    expect(leaf.identity).toEqual({ trustDomain: b.clusterset, kind: 'cluster', name: 'east-1' });
    expect(leaf.notAfter.getTime() - b.clock.now().getTime()).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(res.trustBundle).toBe(b.caPem);
    expect(await b.broker.store.getCluster('east-1')).toMatchObject({ state: 'active', epoch: 1 });
  });

  it('accepts a token once: a replay is PLX_BROKER_TOKEN_USED', async () => {
    const { token } = await createToken(b, 'replay-1');
    const keys = await clusterKeys();
    const body = { token, csr: await clusterCsr(keys, b.clusterset, 'replay-1') };
    expect((await b.call(paths.join, { body })).status).toBe(201);
    const again = await b.call(paths.join, { body });
    expect(again.status).toBe(401);
    expect(errorCode(again)).toBe('PLX_BROKER_TOKEN_USED');
  });

  it('lets exactly one of two concurrent joins with one token succeed', async () => {
    const { token } = await createToken(b, 'race-1');
    const [k1, k2] = await Promise.all([clusterKeys(), clusterKeys()]);
    const results = await Promise.all([k1, k2].map(async (k) => b.call(paths.join, { body: { token, csr: await clusterCsr(k, b.clusterset, 'race-1') } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 401]);
    expect(results.map(errorCode).filter(Boolean)).toEqual(['PLX_BROKER_TOKEN_USED']);
    expect(await b.broker.store.getCluster('race-1')).toMatchObject({ state: 'active', epoch: 1 });
  });

  it('rejects an unknown token and a wrong secret alike', async () => {
    const { token, id } = await createToken(b, 'unknown-1');
    const csr = await clusterCsr(await clusterKeys(), b.clusterset, 'unknown-1');
    const unknown = await b.call(paths.join, { body: { token: `plx1.zzzzzzzz.${token.split('.')[2]}`, csr } });
    const wrongSecret = await b.call(paths.join, { body: { token: `plx1.${id}.${'A'.repeat(43)}`, csr } });
    expect([errorCode(unknown), errorCode(wrongSecret)]).toEqual(['PLX_BROKER_TOKEN_INVALID', 'PLX_BROKER_TOKEN_INVALID']);
    expect(unknown.status).toBe(401);
    await expectUnchanged(id, 'unknown-1');
  });

  it('rejects an expired token', async () => {
    const { token, id } = await createToken(b, 'expired-1', 60);
    const csr = await clusterCsr(await clusterKeys(), b.clusterset, 'expired-1');
    b.clock.advance(61);
    const r = await b.call(paths.join, { body: { token, csr } });
    expect(errorCode(r)).toBe('PLX_BROKER_TOKEN_EXPIRED');
    expect((await b.broker.store.getToken(id))!.usedAt).toBeNull();
    expect(await b.broker.store.getCluster('expired-1')).toBeUndefined();
  });

  it('rejects a revoked token', async () => {
    const { token, id } = await createToken(b, 'revoked-1');
    expect((await b.call(paths.adminToken(id), { method: 'DELETE', identity: b.admin })).status).toBe(200);
    const r = await b.call(paths.join, { body: { token, csr: await clusterCsr(await clusterKeys(), b.clusterset, 'revoked-1') } });
    expect(errorCode(r)).toBe('PLX_BROKER_TOKEN_REVOKED');
    expect((await b.broker.store.getToken(id))!.usedAt).toBeNull();
    expect(await b.broker.store.getCluster('revoked-1')).toBeUndefined();
  });

  it('rejects a CSR for another cluster than the token names', async () => {
    const { token, id } = await createToken(b, 'bound-1');
    const keys = await clusterKeys();
    const cases = [
      await clusterCsr(keys, b.clusterset, 'other-1'),
      await clusterCsr(keys, b.clusterset, 'bound-1', { commonName: 'other-1' }),
      await clusterCsr(keys, 'other.example', 'bound-1'),
      await clusterCsr(keys, b.clusterset, 'bound-1', { identity: { trustDomain: b.clusterset, kind: 'admin', name: 'bound-1' } }),
    ];
    for (const csr of cases) {
      const r = await b.call(paths.join, { body: { token, csr } });
      expect(r.status).toBe(403);
      expect(errorCode(r)).toBe('PLX_BROKER_CSR_IDENTITY_MISMATCH');
    }
    await expectUnchanged(id, 'bound-1');
    expect(await b.broker.store.getCluster('other-1')).toBeUndefined();
  });

  it('rejects malformed PEM and a CSR whose signature does not verify', async () => {
    const { token, id } = await createToken(b, 'badcsr-1');
    const good = await clusterCsr(await clusterKeys(), b.clusterset, 'badcsr-1');
    const garbage = await b.call(paths.join, { body: { token, csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n' } });
    expect(errorCode(garbage)).toBe('PLX_BROKER_BAD_CSR');
    const notPem = await b.call(paths.join, { body: { token, csr: 'hello' } });
    expect(errorCode(notPem)).toBe('PLX_BROKER_BAD_CSR');
    const tampered = await b.call(paths.join, { body: { token, csr: tamperSignature(good) } });
    expect(tampered.status).toBe(400);
    expect(errorCode(tampered)).toBe('PLX_BROKER_CSR_SIGNATURE');
    await expectUnchanged(id, 'badcsr-1');
  });

  it('rejects bodies over the size limit, unknown fields and non-JSON content types', async () => {
    const { token, id } = await createToken(b, 'body-1');
    const csr = await clusterCsr(await clusterKeys(), b.clusterset, 'body-1');
    const big = await b.call(paths.join, { body: { token, csr, pad: 'x'.repeat(70 * 1024) } });
    expect(big.status).toBe(413);
    expect(errorCode(big)).toBe('PLX_BROKER_BODY_TOO_LARGE');
    const extra = await b.call(paths.join, { body: { token, csr, cluster: 'body-1' } });
    expect(errorCode(extra)).toBe('PLX_BROKER_VALIDATION');
    const missing = await b.call(paths.join, { body: { token } });
    expect(errorCode(missing)).toBe('PLX_BROKER_VALIDATION');
    const text = await b.call(paths.join, { rawBody: JSON.stringify({ token, csr }), contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(errorCode(text)).toBe('PLX_BROKER_UNSUPPORTED_MEDIA_TYPE');
    const form = await b.call(paths.join, { rawBody: `token=${token}`, contentType: 'application/x-www-form-urlencoded' });
    expect(errorCode(form)).toBe('PLX_BROKER_UNSUPPORTED_MEDIA_TYPE');
    const broken = await b.call(paths.join, { rawBody: '{"token":', contentType: 'application/json' });
    expect(errorCode(broken)).toBe('PLX_BROKER_BAD_REQUEST');
    await expectUnchanged(id, 'body-1');
  });

  it('refuses to join a cluster that is already an active member, keeping the token', async () => {
    const first = await createToken(b, 'dup-1');
    const second = await createToken(b, 'dup-1');
    const csr1 = await clusterCsr(await clusterKeys(), b.clusterset, 'dup-1');
    expect((await b.call(paths.join, { body: { token: first.token, csr: csr1 } })).status).toBe(201);
    const csr2 = await clusterCsr(await clusterKeys(), b.clusterset, 'dup-1');
    const r = await b.call(paths.join, { body: { token: second.token, csr: csr2 } });
    expect(r.status).toBe(409);
    expect(errorCode(r)).toBe('PLX_BROKER_CONFLICT');
    expect(tokenState((await b.broker.store.getToken(second.id))!, b.clock.now())).toBe('pending');
    expect(await b.broker.store.getCluster('dup-1')).toMatchObject({ epoch: 1 });
  });
});

/** Flips one bit in the signature (the last bytes of the DER) so only the signature is wrong. */
function tamperSignature(pem: string): string {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 2] = der[der.length - 2]! ^ 0x01;
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
}
