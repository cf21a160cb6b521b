// `agent join` over an identity whose certificate expired, against a real broker over TLS
// 1.3. In a pod the init container runs join on every restart with the token it was
// deployed with, long since used: within the broker's renewal grace join must renew the
// stored identity (as `agent run` would), and only past it fall back to the token. The
// broker's clock is moved (its grace and expiry checks read it); the certificates stay
// valid on the wall clock, so TLS itself is not what is tested.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from '../../broker/api/types.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { FileIdentityStore } from '../../agent/identity/file-identity-store.ts';
import { joinClusterset } from '../../agent/join/join.ts';
import { createToken, startTestBroker, type TestBroker } from './support/broker-fixture.ts';

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();

describe('agent join over an expired identity', () => {
  let broker: TestBroker;
  let scratch: string;

  beforeAll(async () => {
    broker = await startTestBroker({ config: { clusterCertLifetimeSeconds: 3600, clusterRenewGraceSeconds: 24 * 3600 } });
    scratch = mkdtempSync(join(tmpdir(), 'plexus-join-expired-'));
  });

  afterAll(async () => {
    await broker?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const joinAs = (clusterId: string, token: string, store: FileIdentityStore) => joinClusterset({
    brokerUrl: broker.url, token, clusterId, caFingerprint: fingerprintSha256(broker.caPem), store, now: () => broker.clock.now(),
  });

  it('an agent restarted after its certificate expired spent its used join token (PLX_BROKER_TOKEN_USED) instead of renewing within the broker\'s grace', async () => {
    const store = new FileIdentityStore(join(scratch, 'east'));
    const { token } = await createToken(broker, 'east');
    const first = await joinAs('east', token, store);
    expect(first.status).toBe('joined');
    broker.clock.advance(2 * 3600); // expired an hour ago, well inside the 24 h grace
    const again = await joinAs('east', token, store);
    expect(again.status).toBe('renewed');
    expect(serialOf(again.identity.certPem)).not.toBe(serialOf(first.identity.certPem));
    expect(new Date(again.identity.notAfter) > broker.clock.now()).toBe(true);
    expect(again.identity.keyPem).not.toBe(first.identity.keyPem);
    expect(await store.load()).toEqual(again.identity);
  });

  it('joins with the token when the expired identity is past the renewal grace', async () => {
    const store = new FileIdentityStore(join(scratch, 'west'));
    await joinAs('west', (await createToken(broker, 'west')).token, store);
    broker.clock.advance(30 * 3600); // past lifetime + grace
    // What an operator does then: remove the cluster and mint a new token.
    expect((await broker.call(paths.adminCluster('west'), { method: 'DELETE', identity: broker.admin })).status).toBeLessThan(300);
    const fresh = await createToken(broker, 'west', 7 * 24 * 3600);
    const r = await joinAs('west', fresh.token, store);
    expect(r.status).toBe('joined');
    expect(await store.load()).toEqual(r.identity);
  });
});
