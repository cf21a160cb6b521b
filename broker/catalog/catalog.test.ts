// Catalog against a real sqlite store in a temp dir, without HTTP: commit-then-apply
// (a failed commit leaves no trace), reload and reconciliation with membership, leases
// on an injected clock. The HTTP and TLS paths are covered in test/integration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportSpecSchema, type ExportSpecInput } from '../api/catalog.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { FakeCatalogStore, fakeCatalogMembers } from '../../test/support/fake-catalog-store.ts';
import type { CatalogMembers } from './catalog-store.ts';
import { Catalog, type CatalogConfig } from './catalog.ts';
import { BrokerError } from '../errors.ts';

const config: CatalogConfig = { leaseDurationSeconds: 10, leaseCheckIntervalMs: 1000, eventRetention: 100, watchBookmarkIntervalMs: 1000, watchHighWaterMarkBytes: 1 << 20 };

const spec = (cluster: string, name: string, o: Partial<ExportSpecInput> = {}) => exportSpecSchema.parse({
  cluster, namespace: 'shop', name, createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [{ addresses: ['10.0.0.1'] }], ...o,
});

describe('Catalog', () => {
  let dir: string;
  let sqlite: SqliteStore;
  let members: string[];
  let now: number;
  const clock = { now: () => new Date(now) };
  const store = (): CatalogMembers => ({ catalog: sqlite.catalog, listClusters: async () => members.map((id) => ({ id, state: 'active' })) });
  const open = (s: CatalogMembers = store()) => Catalog.open({ store: s, clock, logger: pino({ level: 'silent' }), config });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-catalog-'));
    now = Date.parse('2026-06-01T00:00:00Z');
    sqlite = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: clock.now() });
    members = ['east', 'west'];
  });
  afterEach(async () => {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('numbers every event and makes identical writes free', async () => {
    const c = await open();
    const r1 = await c.upsert('east', spec('east', 'cart'));
    expect(r1.revision).toBe(2); // export + service (east is tracked from the start, no cluster event)
    expect((await c.upsert('east', spec('east', 'cart', { annotations: {} }))).revision).toBe(2);
    const reordered = await c.upsert('east', spec('east', 'cart', { annotations: { b: '2', a: '1' } }));
    expect((await c.upsert('east', spec('east', 'cart', { annotations: { a: '1', b: '2' } }))).revision).toBe(reordered.revision);
    // An endpoint change is an export event only: the merged service did not change.
    expect((await c.upsert('east', spec('east', 'cart', { annotations: { a: '1', b: '2' }, endpoints: [{ addresses: ['10.0.0.2'] }] }))).revision).toBe(reordered.revision + 1);
  });

  it('rejects writes for another cluster with PLX_BROKER_FORBIDDEN', async () => {
    const c = await open();
    await expect(c.upsert('east', spec('west', 'cart'))).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_FORBIDDEN' }));
    await expect(c.sync('east', [spec('east', 'a'), spec('west', 'b')])).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_FORBIDDEN' }));
    expect(c.revision).toBe(0);
  });

  it('reloads exports, merged services and the revision from the store', async () => {
    const c = await open();
    await c.sync('east', [spec('east', 'cart'), spec('east', 'pay')]);
    await c.upsert('west', spec('west', 'cart', { createdAt: '2026-02-01T00:00:00Z', type: 'Headless' }));
    const before = c.snapshot();
    const again = await open();
    expect(again.snapshot()).toEqual(before);
    expect((await again.upsert('west', spec('west', 'ship'))).revision).toBeGreaterThan(before.revision);
  });

  it('withdraws, at load, the exports of clusters that are no longer members', async () => {
    const c = await open();
    await c.sync('east', [spec('east', 'cart')]);
    await c.sync('west', [spec('west', 'cart')]);
    members = ['west'];
    const again = await open();
    const snap = again.snapshot();
    expect(snap.exports.map((e) => e.cluster)).toEqual(['west']);
    expect(snap.services[0]!.members.map((m) => m.cluster)).toEqual(['west']);
    expect(snap.revision).toBeGreaterThan(c.revision);
  });

  it('expires leases on the injected clock and restores them on heartbeat', async () => {
    const c = await open();
    await c.heartbeat('east');
    now += 5_000;
    await c.heartbeat('west');
    now += 6_000;
    expect(await c.checkLeases()).toEqual(['east']);
    expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', false], ['west', true]]);
    now += 5_000;
    expect(await c.checkLeases()).toEqual(['west']);
    await c.heartbeat('east');
    expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', true], ['west', false]]);
  });

  it('a broker restart slow to listen does not expire a cluster whose first renewal after it timed out', async () => {
    // test/e2e/broker-outage.test.ts, once under load: the restarted broker expired a live
    // cluster 2.4 s after it began listening (3 s lease), because the grace counted from
    // when the catalog was loaded and the agent's first call after the restart hung.
    const c = await open();
    now += 2_000; // loaded, then certificates, routes and listen on a busy machine
    c.start();
    try {
      now += 10_000 + 5_000 + 1_000; // one lease, a hung call (lease/2), a retry (< lease/3)
      expect(await c.checkLeases()).toEqual([]);
      expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', true], ['west', true]]);
      now += 4_000; // two leases after listening and still no renewal: really gone
      expect(await c.checkLeases()).toEqual(['east', 'west']);
    } finally {
      c.stop();
    }
  });

  it('removes a cluster: its exports go, the others stay, and removal is idempotent', async () => {
    const c = await open();
    await c.sync('east', [spec('east', 'cart'), spec('east', 'pay')]);
    await c.sync('west', [spec('west', 'cart')]);
    const rev = await c.removeCluster('east');
    expect(c.snapshot().exports.map((e) => `${e.cluster}/${e.name}`)).toEqual(['west/cart']);
    expect(c.snapshot().services.map((s) => s.name)).toEqual(['cart']);
    expect(await c.removeCluster('east')).toBe(rev);
  });
});

// The commit discipline against a test double store (test/support/fake-catalog-store.ts):
// a write is acknowledged only once its commit resolved, writes commit one at a time in
// order, and a failed commit leaves memory as it was.
describe('Catalog commits', () => {
  const clock = { now: () => new Date('2026-06-01T00:00:00Z') };
  let fake: FakeCatalogStore;
  const open = () => Catalog.open({ store: fakeCatalogMembers(fake, () => ['east', 'west']), clock, logger: pino({ level: 'silent' }), config });

  beforeEach(() => {
    fake = new FakeCatalogStore();
  });

  it('a catalog write that etcd could not take is refused as PLX_BROKER_ETCD_UNAVAILABLE, not a generic store failure', async () => {
    const c = await open();
    const before = c.snapshot();
    fake.failNext(new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', 'no etcd member answered'));
    await expect(c.upsert('east', spec('east', 'pay'))).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_ETCD_UNAVAILABLE' }));
    expect(c.snapshot()).toEqual(before);
  });

  it('a failed commit is refused with PLX_BROKER_STORE_FAILED and leaves memory unchanged; the next write carries on from the stored head', async () => {
    const c = await open();
    await c.upsert('east', spec('east', 'cart'));
    const before = c.snapshot();
    fake.failNext(new Error('disk full'));
    await expect(c.upsert('east', spec('east', 'pay'))).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_STORE_FAILED' }));
    expect(c.snapshot()).toEqual(before);
    expect(c.list('east').exports.map((e) => e.name)).toEqual(['cart']);
    expect(fake.revision).toBe(before.revision);
    // Nothing unacknowledged appears: the next write takes the revisions the failed one would have.
    const next = await c.upsert('east', spec('east', 'ship'));
    expect(next.revision).toBe(before.revision + 2);
    expect(fake.revision).toBe(next.revision);
    expect(c.list('east').exports.map((e) => e.name)).toEqual(['cart', 'ship']);
    const reopened = await open();
    expect(reopened.snapshot()).toEqual(c.snapshot());
  });

  it('a commit whose head moved (another writer) is refused with PLX_BROKER_STORE_CONFLICT and changes nothing', async () => {
    const c = await open();
    fake.conflictNext();
    await expect(c.sync('east', [spec('east', 'cart')])).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_STORE_CONFLICT' }));
    expect(c.revision).toBe(0);
    expect(c.snapshot().exports).toEqual([]);
  });

  it('acknowledges a write only after its commit resolved, and commits queued writes one at a time in order', async () => {
    const c = await open();
    const release = fake.holdNext();
    const first = c.upsert('east', spec('east', 'cart'));
    const second = c.upsert('west', spec('west', 'cart'));
    const acked: string[] = [];
    void first.then(() => acked.push('first'));
    void second.then(() => acked.push('second'));
    // Let every queued microtask run: the first commit is in flight, the second not started.
    await new Promise((r) => setImmediate(r));
    expect(fake.calls).toBe(1);
    expect(acked).toEqual([]);
    expect(c.revision).toBe(0);
    expect(c.snapshot().exports).toEqual([]);
    release();
    const [r1, r2] = await Promise.all([first, second]);
    expect(acked).toEqual(['first', 'second']);
    // The second was planned on the head the first left, not on the one before it.
    expect(fake.committed.map((x) => x.after)).toEqual([0, r1.revision]);
    expect(r2.revision).toBeGreaterThan(r1.revision);
    expect(c.snapshot().exports.map((e) => e.cluster)).toEqual(['east', 'west']);
  });

  it('a failed write does not hold back the writes queued behind it', async () => {
    const c = await open();
    fake.failNext();
    const failed = c.upsert('east', spec('east', 'cart'));
    const ok = c.upsert('west', spec('west', 'cart'));
    await expect(failed).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_STORE_FAILED' }));
    expect((await ok).revision).toBe(2);
    expect(c.snapshot().exports.map((e) => e.cluster)).toEqual(['west']);
  });
});
