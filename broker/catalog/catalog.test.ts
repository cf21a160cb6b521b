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
import type { ClusterRecord, Store } from '../store/store.ts';
import { Catalog, type CatalogConfig } from './catalog.ts';

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
  const store = (): Store => ({
    clusterset: sqlite.clusterset,
    catalog: sqlite.catalog,
    listClusters: () => members.map((id) => ({ id, state: 'active' }) as ClusterRecord),
  }) as unknown as Store;
  const open = (s: Store = store()) => new Catalog({ store: s, clock, logger: pino({ level: 'silent' }), config });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-catalog-'));
    now = Date.parse('2026-06-01T00:00:00Z');
    sqlite = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: clock.now() });
    members = ['east', 'west'];
  });
  afterEach(() => {
    sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('numbers every event and makes identical writes free', () => {
    const c = open();
    const r1 = c.upsert('east', spec('east', 'cart'));
    expect(r1.revision).toBe(2); // export + service (east is tracked from the start, no cluster event)
    expect(c.upsert('east', spec('east', 'cart', { annotations: {} })).revision).toBe(2);
    const reordered = c.upsert('east', spec('east', 'cart', { annotations: { b: '2', a: '1' } }));
    expect(c.upsert('east', spec('east', 'cart', { annotations: { a: '1', b: '2' } })).revision).toBe(reordered.revision);
    // An endpoint change is an export event only: the merged service did not change.
    expect(c.upsert('east', spec('east', 'cart', { annotations: { a: '1', b: '2' }, endpoints: [{ addresses: ['10.0.0.2'] }] })).revision).toBe(reordered.revision + 1);
  });

  it('leaves no trace when the store commit fails', () => {
    const s = store();
    const failing = { ...s, catalog: { load: () => s.catalog.load(), commit: () => { throw new Error('disk full'); } } } as unknown as Store;
    const c = open(failing);
    const before = c.snapshot();
    expect(() => c.upsert('east', spec('east', 'cart'))).toThrow('disk full');
    expect(c.snapshot()).toEqual(before);
    expect(c.list('east').exports).toEqual([]);
  });

  it('rejects writes for another cluster with PLX_BROKER_FORBIDDEN', () => {
    const c = open();
    expect(() => c.upsert('east', spec('west', 'cart'))).toThrow(expect.objectContaining({ code: 'PLX_BROKER_FORBIDDEN' }));
    expect(() => c.sync('east', [spec('east', 'a'), spec('west', 'b')])).toThrow(expect.objectContaining({ code: 'PLX_BROKER_FORBIDDEN' }));
    expect(c.revision).toBe(0);
  });

  it('reloads exports, merged services and the revision from the store', () => {
    const c = open();
    c.sync('east', [spec('east', 'cart'), spec('east', 'pay')]);
    c.upsert('west', spec('west', 'cart', { createdAt: '2026-02-01T00:00:00Z', type: 'Headless' }));
    const before = c.snapshot();
    const again = open();
    expect(again.snapshot()).toEqual(before);
    expect(again.upsert('west', spec('west', 'ship')).revision).toBeGreaterThan(before.revision);
  });

  it('withdraws, at load, the exports of clusters that are no longer members', () => {
    const c = open();
    c.sync('east', [spec('east', 'cart')]);
    c.sync('west', [spec('west', 'cart')]);
    members = ['west'];
    const again = open();
    const snap = again.snapshot();
    expect(snap.exports.map((e) => e.cluster)).toEqual(['west']);
    expect(snap.services[0]!.members.map((m) => m.cluster)).toEqual(['west']);
    expect(snap.revision).toBeGreaterThan(c.revision);
  });

  it('expires leases on the injected clock and restores them on heartbeat', () => {
    const c = open();
    c.heartbeat('east');
    now += 5_000;
    c.heartbeat('west');
    now += 6_000;
    expect(c.checkLeases()).toEqual(['east']);
    expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', false], ['west', true]]);
    now += 5_000;
    expect(c.checkLeases()).toEqual(['west']);
    c.heartbeat('east');
    expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', true], ['west', false]]);
  });

  it('a broker restart slow to listen does not expire a cluster whose first renewal after it timed out', () => {
    // test/e2e/broker-outage.test.ts, once under load: the restarted broker expired a live
    // cluster 2.4 s after it began listening (3 s lease), because the grace counted from
    // when the catalog was loaded and the agent's first call after the restart hung.
    const c = open();
    now += 2_000; // loaded, then certificates, routes and listen on a busy machine
    c.start();
    try {
      now += 10_000 + 5_000 + 1_000; // one lease, a hung call (lease/2), a retry (< lease/3)
      expect(c.checkLeases()).toEqual([]);
      expect(c.snapshot().clusters.map((s) => [s.cluster, s.available])).toEqual([['east', true], ['west', true]]);
      now += 4_000; // two leases after listening and still no renewal: really gone
      expect(c.checkLeases()).toEqual(['east', 'west']);
    } finally {
      c.stop();
    }
  });

  it('removes a cluster: its exports go, the others stay, and removal is idempotent', () => {
    const c = open();
    c.sync('east', [spec('east', 'cart'), spec('east', 'pay')]);
    c.sync('west', [spec('west', 'cart')]);
    const rev = c.removeCluster('east');
    expect(c.snapshot().exports.map((e) => `${e.cluster}/${e.name}`)).toEqual(['west/cart']);
    expect(c.snapshot().services.map((s) => s.name)).toEqual(['cart']);
    expect(c.removeCluster('east')).toBe(rev);
  });
});
