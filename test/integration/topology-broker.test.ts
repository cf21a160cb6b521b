// Cluster advertisements over real mTLS with real cluster certificates: a cluster writes
// only its own, any clusterset identity reads them, changes flow on the watch stream and
// in the snapshot, identical content is free, and the agent's BrokerClient speaks it.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advertisementListSchema, advertisementPaths, clusterAdvertisementSchema } from '../../broker/api/advertisement.ts';
import { catalogPaths, catalogSnapshotSchema } from '../../broker/api/catalog.ts';
import { BrokerClient } from '../../agent/broker-client/broker-client.ts';
import { WatchClient } from '../../agent/broker-client/watch-client.ts';
import { WatchDispatcher } from '../../agent/broker-client/watch-dispatcher.ts';
import { CatalogView } from '../../agent/catalog/catalog-view.ts';
import { errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';
import { watch } from './support/catalog-fixture.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('advertisements at the broker', () => {
  let b: TestBroker;
  let east: ClientIdentity;
  let west: ClientIdentity;
  const ad = (cluster: string, o: Record<string, unknown> = {}) => ({ cluster, zone: 'z1', region: 'r1', probeUrl: 'https://127.0.0.1:7444', latencies: { west: 1.5 }, ...o });
  const put = (identity: ClientIdentity, body: unknown) => b.call(advertisementPaths.advertisement, { method: 'PUT', body, identity });

  beforeAll(async () => {
    b = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000 } });
    east = (await joinCluster(b, 'east')).identity;
    west = (await joinCluster(b, 'west')).identity;
  });
  afterAll(async () => {
    await b.stop();
  });

  it('stores a cluster\'s own advertisement and announces it on the watch stream', async () => {
    const since = catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: west })).body).revision;
    const w = watch(b, { id: 'west', identity: west }, since);
    const r = await put(east, ad('east'));
    expect(r.status).toBe(200);
    const stored = clusterAdvertisementSchema.parse(r.body);
    expect(stored).toMatchObject({ cluster: 'east', zone: 'z1', latencies: { west: 1.5 } });
    await w.waitFor((es) => es.some((e) => e.type === 'advertisement' && e.cluster === 'east' && e.revision === stored.revision), 'advertisement event');
    const again = clusterAdvertisementSchema.parse((await put(east, ad('east'))).body);
    expect(again.revision).toBe(stored.revision);
    const snap = catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: west })).body);
    expect(snap.advertisements?.map((a) => a.cluster)).toEqual(['east']);
    await w.close();
  });

  it('refuses another cluster\'s advertisement, an admin write, an invalid body and no certificate', async () => {
    const forged = await put(west, ad('east', { zone: 'evil' }));
    expect([forged.status, errorCode(forged)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    const admin = await put(b.admin, ad('east'));
    expect([admin.status, errorCode(admin)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    const bad = await put(east, ad('east', { probeUrl: 'http://127.0.0.1:7444' }));
    expect([bad.status, errorCode(bad)]).toEqual([400, 'PLX_BROKER_VALIDATION']);
    const extra = await put(east, ad('east', { surprise: true }));
    expect(errorCode(extra)).toBe('PLX_BROKER_VALIDATION');
    const anonymous = await b.call(advertisementPaths.advertisements);
    expect(errorCode(anonymous)).toBe('PLX_BROKER_UNAUTHENTICATED');
    const list = advertisementListSchema.parse((await b.call(advertisementPaths.advertisements, { identity: west })).body);
    expect(list.advertisements.find((a) => a.cluster === 'east')?.zone).toBe('z1');
  });

  it('lets the admin read every advertisement', async () => {
    const r = await b.call(advertisementPaths.advertisements, { identity: b.admin });
    expect(r.status).toBe(200);
    expect(advertisementListSchema.parse(r.body).advertisements.length).toBeGreaterThan(0);
  });

  it('reaches an agent: BrokerClient writes, the watch feeds the CatalogView', async () => {
    const client = new BrokerClient({ baseUrl: b.url, trustBundle: b.caPem, clientCert: west });
    const view = new CatalogView();
    const stream = new WatchDispatcher();
    view.follow(stream);
    const seen: string[] = [];
    view.on('advertisementChanged', (c) => seen.push(c));
    const wc = new WatchClient({ sink: stream, logger: pino({ level: 'silent' }), baseUrl: b.url, trustBundle: b.caPem, clientCert: west });
    wc.start();
    try {
      await waitFor(() => (view.advertisement('east') ? true : undefined), { what: 'east in the snapshot', timeoutMs: 10_000, intervalMs: 10 });
      const written = await client.putAdvertisement({ cluster: 'west', zone: 'z2', latencies: { east: 2 } });
      expect(written.zone).toBe('z2');
      await waitFor(() => (view.advertisement('west')?.zone === 'z2' ? true : undefined), { what: 'west via the watch', timeoutMs: 10_000, intervalMs: 10 });
      expect(seen).toContain('west');
      expect((await client.listAdvertisements()).advertisements.map((a) => a.cluster)).toEqual(['east', 'west']);
      await expect(client.putAdvertisement({ cluster: 'east', latencies: {} })).rejects.toMatchObject({ code: 'PLX_AGENT_BROKER_REJECTED', brokerCode: 'PLX_BROKER_FORBIDDEN' });
    } finally {
      await wc.stop();
      await client.close();
    }
  });
});
