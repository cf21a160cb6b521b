// Catalog writes over real TLS with real cluster certificates: merging two clusters'
// exports (with and without conflicts, seen in the write response and on the watch
// stream), ownership (a cluster writes only its own exports), validation, bulk sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catalogPaths, catalogSnapshotSchema, exportListResponseSchema, exportSyncResponseSchema, exportWriteResponseSchema,
  type WatchEvent,
} from '../../broker/api/catalog.ts';
import { errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import {
  exportSpec, putExport, syncExports, watch, withdrawExport, type ClusterClient,
} from './support/catalog-fixture.ts';

describe('catalog exports', () => {
  let b: TestBroker;
  let east: ClusterClient;
  let west: ClusterClient;
  const snapshot = async () => catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: east.identity })).body);

  beforeAll(async () => {
    b = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000 } });
    east = { id: 'east', identity: (await joinCluster(b, 'east')).identity };
    west = { id: 'west', identity: (await joinCluster(b, 'west')).identity };
  });
  afterAll(async () => {
    await b.stop();
  });

  it('merges the same service from two clusters: the union of their ports, and PortConflict on both since the ports differ', async () => {
    const w = watch(b, east, (await snapshot()).revision);
    const r1 = await putExport(b, east, exportSpec('east', 'shop', 'cart', { createdAt: '2026-01-01T00:00:00Z' }));
    expect(r1.status).toBe(200);
    const r2 = await putExport(b, west, exportSpec('west', 'shop', 'cart', {
      createdAt: '2026-01-02T00:00:00Z', ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'grpc', protocol: 'TCP', port: 9090 }],
    }));
    const res = exportWriteResponseSchema.parse(r2.body);
    expect(res.service).toMatchObject({
      type: 'ClusterSetIP',
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'grpc', protocol: 'TCP', port: 9090 }],
      members: [{ cluster: 'east', conflicts: ['PortConflict'], excluded: false }, { cluster: 'west', conflicts: ['PortConflict'], excluded: false }],
    });
    await w.waitForRevision(res.revision);
    const last = w.changes.filter((e): e is Extract<WatchEvent, { type: 'service' }> => e.type === 'service').at(-1)!;
    expect(last.revision).toBe(res.revision);
    expect(last.service).toEqual(res.service);
    await w.close();
  });

  it('reports type and port conflicts on every export involved (the oldest too), in the response and on the stream', async () => {
    const w = watch(b, west, (await snapshot()).revision);
    await putExport(b, east, exportSpec('east', 'shop', 'pay', { createdAt: '2026-01-01T00:00:00Z' }));
    const typed = exportWriteResponseSchema.parse((await putExport(b, west, exportSpec('west', 'shop', 'pay', {
      createdAt: '2026-01-03T00:00:00Z', type: 'Headless', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    }))).body);
    expect(typed.service!.type).toBe('ClusterSetIP');
    expect(typed.service!.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80 }]);
    expect(typed.service!.members[0]).toMatchObject({ cluster: 'east', conflicts: ['TypeConflict'], excluded: false });
    expect(typed.service!.members[1]).toMatchObject({ cluster: 'west', conflicts: ['TypeConflict'], excluded: true });

    const ported = exportWriteResponseSchema.parse((await putExport(b, west, exportSpec('west', 'shop', 'pay', {
      createdAt: '2026-01-03T00:00:00Z', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], sessionAffinity: 'ClientIP',
    }))).body);
    expect(ported.service!.members[0]).toMatchObject({ cluster: 'east', conflicts: ['PortConflict', 'SessionAffinityConflict'], excluded: false });
    expect(ported.service!.members[1]).toMatchObject({ cluster: 'west', conflicts: ['PortConflict', 'SessionAffinityConflict'], excluded: false });
    await w.waitForRevision(ported.revision);
    const seen = w.changes.filter((e) => e.type === 'service').map((e) => (e as Extract<WatchEvent, { type: 'service' }>).service?.members[1]?.conflicts);
    expect(seen).toContainEqual(['TypeConflict']);
    expect(seen.at(-1)).toEqual(['PortConflict', 'SessionAffinityConflict']);

    // Withdrawing the oldest export flips the service to the remaining one's definition.
    const flipped = exportWriteResponseSchema.parse((await withdrawExport(b, east, 'shop', 'pay')).body);
    expect(flipped.service).toMatchObject({ ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], sessionAffinity: 'ClientIP', members: [{ cluster: 'west', conflicts: [] }] });
    await w.close();
  });

  it('rejects an export forged for another cluster and stores nothing', async () => {
    const before = await snapshot();
    const r = await putExport(b, east, exportSpec('west', 'shop', 'forged'));
    expect([r.status, errorCode(r)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    const sync = await syncExports(b, east, [exportSpec('east', 'shop', 'ok'), exportSpec('west', 'shop', 'forged')]);
    expect([sync.status, errorCode(sync)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    // A prefix or case variant of the caller's ID is still another cluster.
    for (const cluster of ['eas', 'east-1']) expect(errorCode(await putExport(b, east, exportSpec(cluster, 'shop', 'forged')))).toBe('PLX_BROKER_FORBIDDEN');
    expect(errorCode(await putExport(b, east, { ...exportSpec('east', 'shop', 'forged'), cluster: 'EAST' }))).toBe('PLX_BROKER_VALIDATION');
    const after = await snapshot();
    expect(after.revision).toBe(before.revision);
    expect(after.exports).toEqual(before.exports);
  });

  it('rejects invalid names and bodies with PLX_BROKER_VALIDATION and stores nothing', async () => {
    const before = await snapshot();
    const bad = [
      await putExport(b, east, exportSpec('east', 'Shop', 'cart'), '/v1/exports/Shop/cart'),
      await putExport(b, east, exportSpec('east', 'shop', '1cart'), '/v1/exports/shop/1cart'),
      await putExport(b, east, exportSpec('east', 'shop', 'cart'), '/v1/exports/shop/other'),
      await putExport(b, east, { ...exportSpec('east', 'shop', 'cart'), ports: [{ protocol: 'TCP', port: 70000 }] }),
      await putExport(b, east, { ...exportSpec('east', 'shop', 'cart'), createdAt: 'yesterday' }),
      await b.call(catalogPaths.export('shop', 'cart'), { method: 'PUT', body: { ...exportSpec('east', 'shop', 'cart'), extra: 1 }, identity: east.identity }),
      await syncExports(b, east, [exportSpec('east', 'shop', 'cart'), exportSpec('east', 'shop', 'cart')]),
      await b.call('/v1/watch?since=-1', { identity: east.identity }),
      await b.call('/v1/watch?since=', { identity: east.identity }),
      await b.call('/v1/watch', { identity: east.identity }),
    ];
    expect(bad.map((r) => [r.status, errorCode(r)])).toEqual(bad.map(() => [400, 'PLX_BROKER_VALIDATION']));
    expect((bad[0]!.body as { error: { details: unknown[] } }).error.details.length).toBeGreaterThan(0);
    expect((await snapshot()).revision).toBe(before.revision);
  });

  it('requires a cluster identity on every catalog endpoint', async () => {
    const anonymous = await b.call(catalogPaths.catalog);
    expect([anonymous.status, errorCode(anonymous)]).toEqual([401, 'PLX_BROKER_UNAUTHENTICATED']);
    const admin = await b.call(catalogPaths.exports, { identity: b.admin });
    expect([admin.status, errorCode(admin)]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
    const watchAdmin = await b.call(catalogPaths.watch(0), { identity: b.admin });
    expect(errorCode(watchAdmin)).toBe('PLX_BROKER_FORBIDDEN');
  });

  it('bulk sync replaces the caller’s set in one revision range; identical writes bump nothing', async () => {
    const c: ClusterClient = { id: 'north', identity: (await joinCluster(b, 'north')).identity };
    const first = exportSyncResponseSchema.parse((await syncExports(b, c, [exportSpec('north', 'a', 'one'), exportSpec('north', 'a', 'two')])).body);
    expect(first).toMatchObject({ upserted: 2, withdrawn: 0, unchanged: 0 });
    const again = exportSyncResponseSchema.parse((await syncExports(b, c, [exportSpec('north', 'a', 'two'), exportSpec('north', 'a', 'one')])).body);
    expect(again).toEqual({ revision: first.revision, upserted: 0, withdrawn: 0, unchanged: 2 });
    const same = exportWriteResponseSchema.parse((await putExport(b, c, exportSpec('north', 'a', 'one', { annotations: {} }))).body);
    expect(same.revision).toBe(first.revision);

    const w = watch(b, c, first.revision);
    const next = exportSyncResponseSchema.parse((await syncExports(b, c, [
      exportSpec('north', 'a', 'two'), exportSpec('north', 'a', 'three', { endpoints: [{ addresses: ['10.9.0.1'] }] }),
    ])).body);
    expect(next).toMatchObject({ upserted: 1, withdrawn: 1, unchanged: 1 });
    await w.waitForRevision(next.revision);
    expect(w.changes.map((e) => [e.type, 'name' in e ? e.name : undefined, e.type === 'export' ? e.export !== null : undefined])).toEqual([
      ['export', 'three', true], ['service', 'three', undefined], ['export', 'one', false], ['service', 'one', undefined],
    ]);
    expect(w.changes.map((e) => e.revision)).toEqual([first.revision + 1, first.revision + 2, first.revision + 3, next.revision]);

    const list = exportListResponseSchema.parse((await b.call(catalogPaths.exports, { identity: c.identity })).body);
    expect(list.exports.map((e) => e.name)).toEqual(['three', 'two']);
    expect(list.exports[0]!.revision).toBe(first.revision + 1);
    const gone = exportWriteResponseSchema.parse((await withdrawExport(b, c, 'a', 'nothing-here')).body);
    expect(gone).toEqual({ revision: next.revision, service: null });
    await w.close();
  });
});
