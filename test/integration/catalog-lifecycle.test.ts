// Cluster lifecycle in the catalog: lease expiry and heartbeat (driven by the injected
// clock, not by sleeping), a broker restart on the same data dir (exports, revision and
// the event log survive; resuming watchers get no relist; nothing is withdrawn), and
// cluster removal withdrawing every export of the cluster.
import { afterEach, describe, expect, it } from 'vitest';
import {
  catalogPaths, catalogSnapshotSchema, exportSyncResponseSchema, leaseResponseSchema, type WatchEvent,
} from '../../broker/api/catalog.ts';
import { paths } from '../../broker/api/types.ts';
import { errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec, putExport, restartTestBroker, syncExports, watch, type ClusterClient } from './support/catalog-fixture.ts';

const config = { leaseDurationSeconds: 5, leaseCheckIntervalMs: 600_000, watchBookmarkIntervalMs: 600_000 };

type ClusterEvent = Extract<WatchEvent, { type: 'cluster' }>;
const clusterEvents = (es: WatchEvent[]) => es.filter((e): e is ClusterEvent => e.type === 'cluster').map((e) => [e.state.cluster, e.state.available]);

describe('catalog lifecycle', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  async function cluster(tb: TestBroker, id: string): Promise<ClusterClient> {
    return { id, identity: (await joinCluster(tb, id)).identity };
  }
  const snapshot = async (tb: TestBroker, c: ClusterClient) => catalogSnapshotSchema.parse((await tb.call(catalogPaths.catalog, { identity: c.identity })).body);
  const heartbeat = (tb: TestBroker, c: ClusterClient) => tb.call(catalogPaths.lease, { method: 'POST', body: {}, identity: c.identity });

  it('marks a cluster unavailable when its lease expires and available again on the next heartbeat', async () => {
    b = await startTestBroker({ config });
    const east = await cluster(b, 'east');
    const west = await cluster(b, 'west');
    const lease = leaseResponseSchema.parse((await heartbeat(b, east)).body);
    expect(lease).toEqual({ leaseDurationSeconds: 5, renewedAt: b.clock.now().toISOString() });
    await heartbeat(b, west);
    const w = watch(b, west, (await snapshot(b, west)).revision);

    b.clock.advance(3);
    await heartbeat(b, west);
    expect(await b.broker.catalog.checkLeases()).toEqual([]);
    b.clock.advance(3);
    expect(await b.broker.catalog.checkLeases()).toEqual(['east']);
    await w.waitFor((es) => clusterEvents(es).length === 1, 'east unavailable');
    expect((await snapshot(b, west)).clusters.map((s) => [s.cluster, s.available])).toEqual([['east', false], ['west', true]]);
    // Its exports stay: importing agents decide what to do with an unavailable cluster.
    expect(await b.broker.catalog.checkLeases()).toEqual([]);

    expect((await heartbeat(b, east)).status).toBe(200);
    await w.waitFor((es) => clusterEvents(es).length === 2, 'east available again');
    expect(clusterEvents(w.events)).toEqual([['east', false], ['east', true]]);
    expect((w.changes.at(-1) as ClusterEvent).state.leaseRenewedAt).toBe(b.clock.now().toISOString());
    await w.close();
  });

  it('keeps exports, revision and the event log across a restart; resuming watchers get no relist', async () => {
    b = await startTestBroker({ config });
    const east = await cluster(b, 'east');
    const west = await cluster(b, 'west');
    await syncExports(b, east, [exportSpec('east', 'shop', 'cart'), exportSpec('east', 'shop', 'pay')]);
    await heartbeat(b, west);
    const mid = (await snapshot(b, east)).revision;
    const synced = exportSyncResponseSchema.parse((await syncExports(b, west, [exportSpec('west', 'shop', 'cart', { createdAt: '2026-02-01T00:00:00Z' })])).body);
    const before = await snapshot(b, east);
    expect(before.revision).toBe(synced.revision);
    const beforeStream = watch(b, east, mid);
    await beforeStream.waitForRevision(synced.revision);
    await beforeStream.close();

    b.clock.advance(4);
    b = await restartTestBroker(b, config);
    const after = await snapshot(b, east);
    expect(after.revision).toBe(before.revision);
    expect(after.services).toEqual(before.services);
    expect(after.exports).toEqual(before.exports);

    const resumed = watch(b, east, mid);
    await resumed.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'caught up');
    expect(resumed.events.some((e) => e.type === 'relist')).toBe(false);
    expect(resumed.changes).toEqual(beforeStream.changes);

    // A fresh grace period: time the broker was down does not expire anyone.
    b.clock.advance(4);
    expect(await b.broker.catalog.checkLeases()).toEqual([]);
    const next = await putExport(b, east, exportSpec('east', 'shop', 'ship'));
    expect((next.body as { revision: number }).revision).toBeGreaterThan(before.revision);
    await resumed.close();
  });

  it('keeps an unavailable cluster unavailable across a restart until it heartbeats', async () => {
    b = await startTestBroker({ config });
    const east = await cluster(b, 'east');
    await heartbeat(b, east);
    b.clock.advance(6);
    expect(await b.broker.catalog.checkLeases()).toEqual(['east']);
    b = await restartTestBroker(b, config);
    expect((await snapshot(b, east)).clusters).toMatchObject([{ cluster: 'east', available: false }]);
    await heartbeat(b, east);
    expect((await snapshot(b, east)).clusters).toMatchObject([{ cluster: 'east', available: true }]);
  });

  it('withdraws every export of a removed cluster, with events, and rejects it afterwards', async () => {
    b = await startTestBroker({ config });
    const east = await cluster(b, 'east');
    const west = await cluster(b, 'west');
    await syncExports(b, east, [exportSpec('east', 'shop', 'cart'), exportSpec('east', 'shop', 'pay')]);
    await syncExports(b, west, [exportSpec('west', 'shop', 'cart', { createdAt: '2026-03-01T00:00:00Z' })]);
    const w = watch(b, west, (await snapshot(b, west)).revision);
    const own = watch(b, east, (await snapshot(b, east)).revision);
    await own.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'east watching');

    const removed = await b.call(paths.adminCluster('east'), { method: 'DELETE', identity: b.admin });
    expect(removed.status).toBe(200);
    await w.waitFor((es) => clusterEvents(es).length === 1, 'east removed');
    const after = await snapshot(b, west);
    expect(after.exports.map((e) => `${e.cluster}:${e.name}`)).toEqual(['west:cart']);
    expect(after.services.map((s) => [s.name, s.members.map((m) => m.cluster)])).toEqual([['cart', ['west']]]);
    expect(after.clusters.map((c) => c.cluster)).toEqual(['west']);
    expect(w.changes.filter((e) => e.type === 'export').map((e) => [e.type === 'export' && e.name, e.type === 'export' && e.export])).toEqual([['cart', null], ['pay', null]]);
    expect(w.changes.some((e) => e.type === 'service' && e.name === 'pay' && e.service === null)).toBe(true);

    // The removed cluster's own stream ends: it may no longer read the catalog.
    await own.done;
    expect(own.ended).toBe(true);
    const rejected = await putExport(b, east, exportSpec('east', 'shop', 'cart'));
    expect(errorCode(rejected)).toBe('PLX_BROKER_CLUSTER_REVOKED');
    // Removing again changes nothing.
    await b.call(paths.adminCluster('east'), { method: 'DELETE', identity: b.admin });
    expect((await snapshot(b, west)).revision).toBe(after.revision);
    await w.close();
  });
});
