// What a member may publish is bounded at the broker (broker/api/export-guard.ts), over
// real TLS with real cluster certificates: exports from protected namespaces and endpoint
// addresses that point back into the importing node are refused with a PLX_BROKER_EXPORT_*
// code, nothing is stored and nothing reaches the watch stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths, catalogSnapshotSchema, exportSyncResponseSchema } from '../../broker/api/catalog.ts';
import { errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec, putExport, syncExports, type ClusterClient } from './support/catalog-fixture.ts';

describe('catalog export guard', () => {
  let b: TestBroker;
  let east: ClusterClient;
  const snapshot = async () => catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: east.identity })).body);

  beforeAll(async () => {
    b = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000 } });
    east = { id: 'east', identity: (await joinCluster(b, 'east')).identity };
  });
  afterAll(async () => {
    await b.stop();
  });

  it('refuses a member exporting kube-system/kube-dns with loopback and metadata endpoints, and stores nothing', async () => {
    const before = await snapshot();
    const res = await putExport(b, east, exportSpec('east', 'kube-system', 'kube-dns', {
      ports: [{ name: 'dns', protocol: 'UDP', port: 53 }], endpoints: [{ addresses: ['127.0.0.1'] }, { addresses: ['169.254.169.254'] }],
    }));
    expect(res.status).toBe(403);
    expect(errorCode(res)).toBe('PLX_BROKER_EXPORT_PROTECTED_NAMESPACE');
    for (const ns of ['kube-public', 'kube-node-lease', 'plexus-system']) {
      expect(errorCode(await putExport(b, east, exportSpec('east', ns, 'web')))).toBe('PLX_BROKER_EXPORT_PROTECTED_NAMESPACE');
    }
    const after = await snapshot();
    expect(after.revision).toBe(before.revision);
    expect(after.exports.filter((e) => e.namespace !== 'shop')).toEqual([]);
  });

  it('refuses loopback, link-local, unspecified and multicast endpoint addresses (IPv4 and IPv6) in any namespace', async () => {
    const before = await snapshot();
    for (const bad of ['127.0.0.1', '127.1.2.3', '169.254.169.254', '0.0.0.0', '224.0.0.251', '255.255.255.255', '::1', '::', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1']) {
      const res = await putExport(b, east, exportSpec('east', 'shop', 'web', { endpoints: [{ addresses: ['10.1.0.1'] }, { addresses: [bad] }] }));
      expect([bad, res.status, errorCode(res)]).toEqual([bad, 422, 'PLX_BROKER_EXPORT_ADDRESS_REFUSED']);
    }
    const after = await snapshot();
    expect(after.revision).toBe(before.revision);
    expect(after.exports).toEqual([]);
    expect((await putExport(b, east, exportSpec('east', 'shop', 'web', { endpoints: [{ addresses: ['10.1.0.1', 'fd00::1'] }] }))).status).toBe(200);
  });

  it('a sync lands the acceptable exports, leaves the refused ones out (withdrawing a stored copy) and names them', async () => {
    const res = await syncExports(b, east, [
      exportSpec('east', 'shop', 'web', { endpoints: [{ addresses: ['169.254.169.254'] }] }),
      exportSpec('east', 'shop', 'cart'),
      exportSpec('east', 'kube-system', 'kube-dns'),
    ]);
    expect(res.status).toBe(200);
    const body = exportSyncResponseSchema.parse(res.body);
    expect(body.refused!.map((r) => [r.namespace, r.name, r.code])).toEqual([
      ['shop', 'web', 'PLX_BROKER_EXPORT_ADDRESS_REFUSED'], ['kube-system', 'kube-dns', 'PLX_BROKER_EXPORT_PROTECTED_NAMESPACE'],
    ]);
    expect(body).toMatchObject({ upserted: 1, withdrawn: 1 });
    expect((await snapshot()).exports.map((e) => `${e.namespace}/${e.name}`)).toEqual(['shop/cart']);
  });

  it('exports from a namespace the broker was configured not to protect', async () => {
    const open = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000, protectedNamespaces: ['plexus-system'] } });
    try {
      const id = { id: 'east', identity: (await joinCluster(open, 'east')).identity };
      expect((await putExport(open, id, exportSpec('east', 'kube-system', 'metrics'))).status).toBe(200);
      expect(errorCode(await putExport(open, id, exportSpec('east', 'plexus-system', 'probe')))).toBe('PLX_BROKER_EXPORT_PROTECTED_NAMESPACE');
    } finally {
      await open.stop();
    }
  });
});
