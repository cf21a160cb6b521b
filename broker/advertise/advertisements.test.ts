// Advertisements in the catalog against a real sqlite store: own-cluster only, identical
// content is free, events share the catalog's revisions, persisted across a reopen, and
// removed with the cluster. HTTP and mTLS: test/integration/topology-broker.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterAdvertisementInputSchema, type ClusterAdvertisementInput } from '../api/advertisement.ts';
import { Catalog, type CatalogConfig } from '../catalog/catalog.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { CatalogMembers } from '../catalog/catalog-store.ts';

const config: CatalogConfig = { leaseDurationSeconds: 10, leaseCheckIntervalMs: 1000, eventRetention: 100, watchBookmarkIntervalMs: 1000, watchHighWaterMarkBytes: 1 << 20 };
const ad = (o: Partial<ClusterAdvertisementInput> & { cluster: string }) => clusterAdvertisementInputSchema.parse({ zone: 'z1', region: 'r1', probeUrl: 'https://10.0.0.1:7444', ...o });

describe('advertisements in the catalog', async () => {
  let dir: string;
  let sqlite: SqliteStore;
  let now = Date.parse('2026-06-01T00:00:00Z');
  const clock = { now: () => new Date(now) };
  const store = (): CatalogMembers => ({ catalog: sqlite.catalog, listClusters: async () => ['east', 'west'].map((id) => ({ id, state: 'active' })) });
  const open = () => Catalog.open({ store: store(), clock, logger: pino({ level: 'silent' }), config });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-adv-'));
    sqlite = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: clock.now() });
  });
  afterEach(async () => {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the caller\'s own advertisement with the event revision; identical content makes no event', async () => {
    const c = await open();
    const first = await c.putAdvertisement('east', ad({ cluster: 'east', latencies: { west: 3, beta: 1 } }));
    expect(first.revision).toBe(1);
    expect(Object.keys(first.latencies)).toEqual(['beta', 'west']);
    now += 5000;
    expect((await c.putAdvertisement('east', ad({ cluster: 'east', latencies: { beta: 1, west: 3 } }))).revision).toBe(1);
    expect((await c.putAdvertisement('east', ad({ cluster: 'east', latencies: { west: 4 } }))).revision).toBe(2);
    expect(c.listAdvertisements()).toMatchObject({ revision: 2, advertisements: [{ cluster: 'east', latencies: { west: 4 } }] });
    expect(c.snapshot().advertisements).toHaveLength(1);
  });

  it('refuses another cluster\'s advertisement with PLX_BROKER_FORBIDDEN', async () => {
    await expect((await open()).putAdvertisement('east', ad({ cluster: 'west' }))).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_FORBIDDEN' }));
  });

  it('survives a reopen and leaves with a removed cluster (with an event)', async () => {
    const c = await open();
    await c.putAdvertisement('west', ad({ cluster: 'west', zone: 'z2' }));
    c.stop();
    const reopened = await open();
    expect(reopened.listAdvertisements().advertisements).toMatchObject([{ cluster: 'west', zone: 'z2' }]);
    const before = reopened.revision;
    await reopened.removeCluster('west');
    expect(reopened.listAdvertisements().advertisements).toEqual([]);
    const events = (await sqlite.catalog.load()).events.map((e) => JSON.parse(e.payload) as { type: string; revision: number; advertisement?: unknown });
    expect(events.filter((e) => e.revision > before && e.type === 'advertisement')).toEqual([expect.objectContaining({ advertisement: null })]);
    reopened.stop();
    expect((await open()).listAdvertisements().advertisements).toEqual([]);
  });
});
