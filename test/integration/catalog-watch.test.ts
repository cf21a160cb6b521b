// The change stream over real TLS: NDJSON framing, resuming after a disconnect with
// exactly the missed events, relist once `since` is compacted away (or from the future),
// bookmarks, and streams that end cleanly when the broker shuts down.
import { connect } from 'node:tls';
import { request, Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { catalogPaths, catalogSnapshotSchema, exportWriteResponseSchema } from '../../broker/api/catalog.ts';
import { joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec, putExport, watch, type ClusterClient } from './support/catalog-fixture.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('catalog watch', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  async function setup(config: Record<string, number> = {}): Promise<{ b: TestBroker; c: ClusterClient }> {
    b = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000, watchBookmarkIntervalMs: 600_000, ...config } });
    return { b, c: { id: 'east', identity: (await joinCluster(b, 'east')).identity } };
  }

  async function change(tb: TestBroker, c: ClusterClient, i: number): Promise<number> {
    const r = await putExport(tb, c, exportSpec(c.id, 'shop', 'cart', { endpoints: [{ addresses: [`10.0.0.${i}`] }] }));
    return exportWriteResponseSchema.parse(r.body).revision;
  }

  it('streams NDJSON with chunked transfer and a bookmark once caught up', async () => {
    const { b, c } = await setup();
    const rev = await change(b, c, 1);
    const dispatcher = new Agent({ connect: { ca: b.caPem, cert: c.identity.certPem, key: c.identity.keyPem } });
    const ac = new AbortController();
    const res = await request(new URL(catalogPaths.watch(0), b.url), { dispatcher, signal: ac.signal });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    let text = '';
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString();
      if (text.includes('"bookmark"')) break;
    }
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; revision: number });
    expect(lines.map((l) => l.type)).toEqual(['cluster', 'export', 'service', 'bookmark']);
    expect(lines.map((l) => l.revision)).toEqual([1, 2, 3, rev]);
    ac.abort();
    await dispatcher.close().catch(() => undefined);
  });

  it('resumes after a disconnect with exactly the missed events', async () => {
    const { b, c } = await setup();
    const start = await change(b, c, 1);
    const all = watch(b, c, start);
    const first = watch(b, c, start);
    const r2 = await change(b, c, 2);
    await first.waitForRevision(r2);
    await first.close();
    const seen = first.changes.at(-1)!.revision;
    let last = 0;
    for (let i = 3; i <= 6; i++) last = await change(b, c, i);
    const resumed = watch(b, c, seen);
    await resumed.waitForRevision(last);
    await all.waitForRevision(last);
    expect(resumed.changes).toEqual(all.changes.filter((e) => e.revision > seen));
    expect(resumed.changes.map((e) => e.revision)).toEqual(Array.from({ length: last - seen }, (_, i) => seen + 1 + i));
    await Promise.all([all.close(), resumed.close()]);
  });

  it('sends one relist and ends the stream when `since` was compacted away or is from the future', async () => {
    const { b, c } = await setup({ eventRetention: 5 });
    let last = 0;
    for (let i = 1; i <= 6; i++) last = await change(b, c, i);
    const old = watch(b, c, 0);
    await old.done;
    expect(old.events).toEqual([{ type: 'relist', revision: last }]);
    const future = watch(b, c, last + 100);
    await future.done;
    expect(future.events).toEqual([{ type: 'relist', revision: last }]);
    // The oldest retained `since` still resumes.
    const edge = watch(b, c, last - 5);
    await edge.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'bookmark');
    expect(edge.changes.map((e) => e.revision)).toEqual([last - 4, last - 3, last - 2, last - 1, last]);
    await edge.close();
  });

  it('serves a snapshot at the revision the stream continues from', async () => {
    const { b, c } = await setup();
    await change(b, c, 1);
    const snap = catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: c.identity })).body);
    expect(snap.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['shop/cart']);
    expect(snap.exports.map((e) => [e.cluster, e.endpoints[0]!.addresses[0]])).toEqual([['east', '10.0.0.1']]);
    expect(snap.clusters).toMatchObject([{ cluster: 'east', available: true }]);
    const w = watch(b, c, snap.revision);
    const next = await change(b, c, 2);
    await w.waitForRevision(next);
    expect(w.changes[0]!.revision).toBe(snap.revision + 1);
    await w.close();
  });

  it('sends bookmarks at the head so idle clients can tell the connection is alive', async () => {
    const { b, c } = await setup();
    const rev = await change(b, c, 1);
    const w = watch(b, c, rev);
    await w.waitFor((es) => es.length === 1, 'initial bookmark');
    b.broker.catalog.tick();
    await w.waitFor((es) => es.length === 2, 'second bookmark');
    expect(w.events).toEqual([{ type: 'bookmark', revision: rev }, { type: 'bookmark', revision: rev }]);
    await w.close();
  });

  it('drops a watcher that stops reading once it stays over the high-water mark; others keep streaming', async () => {
    const { b, c } = await setup({ watchHighWaterMarkBytes: 16 * 1024 });
    const head = await change(b, c, 1);
    const healthy = watch(b, c, head);
    // A client that sends the request and then never reads from its socket.
    const url = new URL(b.url);
    const stalled = connect({ host: url.hostname, port: Number(url.port), ca: b.caPem, cert: c.identity.certPem, key: c.identity.keyPem });
    await new Promise((r) => stalled.once('secureConnect', r));
    stalled.write(`GET ${catalogPaths.watch(head)} HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
    stalled.pause();
    await healthy.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'healthy watcher caught up');
    await waitFor(() => (b.broker.catalog.watchers === 2 ? true : undefined), { what: 'both watchers registered', timeoutMs: 10_000, intervalMs: 10 });

    // Large export events (about 100 KB each) until the kernel buffers are full and the
    // stalled watcher stays above the mark for a whole tick interval.
    const endpoints = Array.from({ length: 4000 }, (_, i) => ({ addresses: [`10.${i >> 8}.${i & 255}.1`] }));
    let last = head;
    for (let i = 0; i < 400 && b.broker.catalog.watchers === 2; i++) {
      const r = await putExport(b, c, exportSpec(c.id, 'shop', 'big', { endpoints, annotations: { round: String(i) } }));
      last = exportWriteResponseSchema.parse(r.body).revision;
      b.broker.catalog.tick();
    }
    expect(b.broker.catalog.watchers).toBe(1);
    await healthy.waitForRevision(last);
    expect(healthy.changes.map((e) => e.revision)).toEqual(Array.from({ length: last - head }, (_, i) => head + 1 + i));
    stalled.destroy();
    await healthy.close();
  });

  it('ends watch streams cleanly on shutdown', async () => {
    const { b, c } = await setup();
    const rev = await change(b, c, 1);
    const streams = [watch(b, c, 0), watch(b, c, rev)];
    for (const s of streams) await s.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'bookmark');
    expect(b.broker.catalog.watchers).toBe(2);
    await b.broker.stop();
    for (const s of streams) {
      await expect(s.done).resolves.toBeUndefined();
      expect(s.ended).toBe(true);
    }
  });
});
