// The etcd store backend against a real 3-member etcd 3.6 cluster (TLS 1.3, client
// certificates): the whole store contract (test/support/store-contract.ts, the same suite
// the sqlite backend passes), each test under a fresh key prefix; then races between two
// replicas, i.e. two EtcdStores with their own clients talking to different members.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../broker/etcd/etcd-client.ts';
import { EtcdStore } from '../../broker/store/etcd-store.ts';
import type { TokenRecord } from '../../broker/enroll/token-record.ts';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.ts';
import { describeStoreContract } from '../support/store-contract.ts';

let cluster: EtcdCluster;
let next = 0;
const t0 = new Date('2030-01-01T00:00:00Z');

beforeAll(async () => {
  cluster = await startEtcdCluster({ members: 3 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

function client(first = 0): EtcdClient {
  const endpoints = [cluster.endpoints[first]!, ...cluster.endpoints.filter((_, j) => j !== first)];
  return EtcdClient.create({ endpoints, tls: { ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem }, dialTimeoutMs: 1000, requestTimeoutMs: 5000 });
}

describe('EtcdStore contract', () => {
  describeStoreContract('EtcdStore', {
    async create() {
      return EtcdStore.create(client(next % 3), { prefix: `/plexus-test/contract-${next++}/`, clusterset: 'acme.example', now: t0, ownsClient: true });
    },
    async dispose(store) {
      await store.close();
    },
  });
});

describe('EtcdStore across replicas', () => {
  const token = (id: string, subject: string): TokenRecord => ({
    id, kind: 'cluster', subject, secretHash: new Uint8Array(32).fill(7), createdAt: t0, expiresAt: new Date(t0.getTime() + 3600_000), usedAt: null, revokedAt: null,
  });

  async function replicas(): Promise<[EtcdStore, EtcdStore]> {
    const prefix = `/plexus-test/replicas-${next++}/`;
    const a = await EtcdStore.create(client(0), { prefix, clusterset: 'acme.example', now: t0, ownsClient: true });
    return [a, await EtcdStore.open(client(2), { prefix, ownsClient: true })];
  }

  it('refuses to seed a prefix twice and to open one never seeded', async () => {
    const [a, b] = await replicas();
    await expect(EtcdStore.create(client(1), { prefix: `/plexus-test/replicas-${next - 1}/`, clusterset: 'other', now: t0, ownsClient: true }))
      .rejects.toMatchObject({ code: 'PLX_BROKER_ALREADY_INITIALIZED' });
    await expect(EtcdStore.open(client(1), { prefix: '/plexus-test/never/' })).rejects.toMatchObject({ code: 'PLX_BROKER_NOT_INITIALIZED' });
    expect(b.clusterset).toBe('acme.example');
    await Promise.all([a.close(), b.close()]);
  });

  it('two replicas joining with one token on different members: the token is consumed exactly once', async () => {
    const [a, b] = await replicas();
    await a.addToken(token('aaaaaaaa', 'east'));
    const now = new Date(t0.getTime() + 1000);
    const results = await Promise.all([
      ...[1, 2, 3].map((i) => a.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east', certificate: { serial: `a${i}`, notAfter: t0 }, now })),
      ...[1, 2, 3].map((i) => b.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east', certificate: { serial: `b${i}`, notAfter: t0 }, now })),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await b.getCluster('east')).toMatchObject({ state: 'active', epoch: 1 });
    await Promise.all([a.close(), b.close()]);
  });

  it('two replicas committing catalog changes on the same head: exactly one appends, the other sees the new head', async () => {
    const [a, b] = await replicas();
    const commit = (n: string) => ({ after: 0, revision: 1, upserts: [{ cluster: 'east', namespace: 'ns', name: n, spec: '{}', revision: 1 }], deletes: [], events: [{ revision: 1, payload: '{}' }], compactThrough: 0 });
    const r = await Promise.all([a.catalog.commit(commit('x')), b.catalog.commit(commit('y'))]);
    expect(r.filter(Boolean)).toHaveLength(1);
    expect((await b.catalog.load()).revision).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('keeps token hashes at rest, never the secret, and a value that does not parse is refused', async () => {
    const [a, b] = await replicas();
    await a.addToken(token('aaaaaaaa', 'east'));
    const raw = client(1);
    const { kv } = await raw.get(`/plexus-test/replicas-${next - 1}/tokens/aaaaaaaa`);
    expect(JSON.parse(kv!.value.toString())).toMatchObject({ secretHash: Buffer.alloc(32, 7).toString('base64') });
    await raw.put(`/plexus-test/replicas-${next - 1}/tokens/bbbbbbbb`, '{"id":1}');
    await expect(b.getToken('bbbbbbbb')).rejects.toMatchObject({ code: 'PLX_BROKER_ETCD_BAD_RESPONSE' });
    await Promise.all([a.close(), b.close(), raw.close()]);
  });
});
