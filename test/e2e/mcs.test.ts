// End to end: three real control planes, a real broker process, three `plexus agent run`
// processes. A Service exported in one cluster becomes a ServiceImport with a derived
// Service and EndpointSlices in every cluster that has the namespace.
import { readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { catalogPaths } from '../../broker/api/catalog.ts';
import { MCS_GROUP, MCS_VERSION } from '../../crds/types.ts';
import {
  addressesOf, createService, ensureNamespace, exportConditions, exportService, importedSlices, sameSet,
  serviceImport, setEndpoints, unexportService, type Condition } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const cond = (cs: Condition[], type: string) => cs.find((c) => c.type === type);

// A test run alone may start while the last agent is still loading on a busy machine.
const SETUP_MS = 120_000;

describe('MCS export and import across three clusters', () => {
  const fixture = useMesh({ clusters: 3 });
  const c = (i: number) => fixture.mesh.cluster(i);
  const existed = (e: { code?: number }) => { if (e.code !== 409) throw e; };
  /**
   * shop/cart exported from cluster i with these ready endpoints, whether or not an earlier
   * test did it, so that every test runs alone (-t) too. Makes "shop" in every cluster.
   */
  const cartExportedFrom = async (i: number, ready: string[]) => {
    for (const j of [0, 1, 2]) await ensureNamespace(c(j), 'shop');
    await createService(c(i), 'shop', 'cart').catch(existed);
    await setEndpoints(c(i), 'shop', 'cart', ready);
    await exportService(c(i), 'shop', 'cart').catch(existed);
  };
  const cartFrom = async (i: number, addresses: string[]) =>
    waitFor(async () => sameSet(addressesOf(await importedSlices(c(i), 'shop', 'cart', 'cluster-1')), addresses), { what: `cart's endpoints from cluster-1 in cluster-${i + 1}`, timeoutMs: SETUP_MS });

  it('imports an exported service into every cluster that has the namespace, with a real clusterset IP', async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), 'shop');
    await createService(c(0), 'shop', 'cart');
    await setEndpoints(c(0), 'shop', 'cart', ['10.1.0.1', '10.1.0.2'], ['10.1.0.9']);
    await exportService(c(0), 'shop', 'cart');

    const si = await waitFor(async () => {
      const s = await serviceImport(c(1), 'shop', 'cart');
      return s?.spec.ips?.length && s.status?.clusters?.length ? s : undefined;
    }, { what: 'ServiceImport shop/cart in cluster-2 with ips and status' });
    expect(si.spec.type).toBe('ClusterSetIP');
    expect(si.spec.ports).toEqual([expect.objectContaining({ name: 'http', port: 80, protocol: 'TCP' })]);
    expect(si.status?.clusters).toEqual([{ cluster: 'cluster-1' }]);
    // The clusterset IP is the ClusterIP of a derived, selector-less Service owned by the import.
    const services = (await c(1).client(CoreV1Api).listNamespacedService({ namespace: 'shop' })).items;
    const derived = services.find((s) => s.spec?.clusterIP === si.spec.ips![0]);
    expect(derived?.spec?.selector).toBeUndefined();
    expect(derived?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ServiceImport', name: 'cart' });

    const slices = await waitFor(async () => {
      const s = await importedSlices(c(1), 'shop', 'cart', 'cluster-1');
      return sameSet(addressesOf(s), ['10.1.0.1', '10.1.0.2']) ? s : undefined;
    }, { what: 'ready endpoints of cluster-1 in cluster-2' });
    expect(slices[0]!.metadata?.labels).toMatchObject({
      'kubernetes.io/service-name': derived!.metadata!.name,
      'endpointslice.kubernetes.io/managed-by': 'agent.plexus.io',
    });
    expect(slices[0]!.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ServiceImport', name: 'cart' });

    const conds = await waitFor(async () => {
      const cs = await exportConditions(c(0), 'shop', 'cart');
      return cond(cs, 'Ready')?.status === 'True' ? cs : undefined;
    }, { what: 'ServiceExport conditions' });
    expect(cond(conds, 'Valid')).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(cond(conds, 'Ready')).toMatchObject({ status: 'True', reason: 'Exported' });
    expect(cond(conds, 'Conflict')).toMatchObject({ status: 'False', reason: 'NoConflicts' });

    // Namespace sameness: cluster-3 has no "shop", so it gets nothing until it creates it.
    await ensureNamespace(c(2), 'shop');
    await waitFor(async () => (await serviceImport(c(2), 'shop', 'cart'))?.spec.ips?.length, { what: 'import in cluster-3 once the namespace exists' });
  });

  it('follows endpoint churn', async () => {
    await cartExportedFrom(0, ['10.1.0.1', '10.1.0.2']);
    for (const i of [1, 2]) await cartFrom(i, ['10.1.0.1', '10.1.0.2']);
    await setEndpoints(c(0), 'shop', 'cart', ['10.1.0.3', '10.1.0.4', '10.1.0.5']);
    for (const i of [1, 2]) {
      await waitFor(async () => sameSet(addressesOf(await importedSlices(c(i), 'shop', 'cart', 'cluster-1')), ['10.1.0.3', '10.1.0.4', '10.1.0.5']), { what: `new endpoints in cluster-${i + 1}` });
    }
  });

  it('merges a second compatible exporter and flags a type conflict on the newer one', async () => {
    await cartExportedFrom(0, ['10.1.0.3', '10.1.0.4', '10.1.0.5']);
    await cartFrom(2, ['10.1.0.3', '10.1.0.4', '10.1.0.5']);
    await cartExportedFrom(1, ['10.2.0.1']);
    await waitFor(async () => sameSet(addressesOf(await importedSlices(c(2), 'shop', 'cart')), ['10.1.0.3', '10.1.0.4', '10.1.0.5', '10.2.0.1']), { what: 'both sources in cluster-3' });
    const si = await waitFor(async () => {
      const s = await serviceImport(c(2), 'shop', 'cart');
      return s?.status?.clusters?.length === 2 ? s : undefined;
    }, { what: 'status.clusters lists both' });
    expect(si.status!.clusters!.map((x) => x.cluster).sort()).toEqual(['cluster-1', 'cluster-2']);

    await createService(c(0), 'shop', 'pay');
    await setEndpoints(c(0), 'shop', 'pay', ['10.1.1.1']);
    await exportService(c(0), 'shop', 'pay');
    await waitFor(async () => (await serviceImport(c(2), 'shop', 'pay'))?.spec.ips?.length, { what: 'pay imported in cluster-3' });
    await createService(c(1), 'shop', 'pay', { clusterIP: 'None' });
    await setEndpoints(c(1), 'shop', 'pay', ['10.2.1.1']);
    await exportService(c(1), 'shop', 'pay');
    const conflict = await waitFor(async () => {
      const x = cond(await exportConditions(c(1), 'shop', 'pay'), 'Conflict');
      return x?.status === 'True' ? x : undefined;
    }, { what: 'TypeConflict on the newer export' });
    expect(conflict.reason).toContain('TypeConflict');
    // Conflict=True on every export involved, the oldest (which decides) too.
    await waitFor(async () => cond(await exportConditions(c(0), 'shop', 'pay'), 'Conflict')?.reason.includes('TypeConflict'), { what: 'TypeConflict on the older export as well' });
    // The loser is excluded: its endpoints never reach the import.
    const si2 = await serviceImport(c(2), 'shop', 'pay');
    expect(si2?.spec.type).toBe('ClusterSetIP');
    expect(addressesOf(await importedSlices(c(2), 'shop', 'pay'))).toEqual(['10.1.1.1']);
  });

  it('refuses to export an ExternalName Service and imports nothing', async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), 'shop');
    await createService(c(0), 'shop', 'legacy', { type: 'ExternalName', externalName: 'legacy.example.com', ports: [] });
    await exportService(c(0), 'shop', 'legacy');
    const valid = await waitFor(async () => {
      const x = cond(await exportConditions(c(0), 'shop', 'legacy'), 'Valid');
      return x?.status === 'False' ? x : undefined;
    }, { what: 'Valid=False' });
    expect(valid.reason).toBe('InvalidServiceType');
    // A later export proves the pipeline moved on; legacy never arrived.
    await createService(c(0), 'shop', 'probe');
    await exportService(c(0), 'shop', 'probe');
    await waitFor(async () => serviceImport(c(1), 'shop', 'probe'), { what: 'probe imported' });
    expect(await serviceImport(c(1), 'shop', 'legacy')).toBeUndefined();
  });

  it('has the API server itself refuse a ServiceExport with an invalid name', async () => {
    await ensureNamespace(c(0), 'shop');
    const bad = c(0).client(CustomObjectsApi).createNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: 'shop', plural: 'serviceexports', body: {
      apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name: 'Bad_Name' },
    } });
    await expect(bad).rejects.toMatchObject({ code: 422 });
  });

  it('rejects an export forged for another cluster, with cluster-1\'s real identity', async () => {
    const secret = await c(0).client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
    const pem = (k: string) => Buffer.from(secret.data![k]!, 'base64').toString('utf8');
    const dispatcher = new Agent({ connect: { ca: pem('ca.crt'), cert: pem('tls.crt'), key: pem('tls.key') } });
    const res = await request(new URL(catalogPaths.export('shop', 'forged'), fixture.mesh.brokerUrl), {
      method: 'PUT', dispatcher, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'cluster-2', namespace: 'shop', name: 'forged', createdAt: new Date().toISOString(), type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [{ addresses: ['10.9.9.9'] }] }),
    });
    const body = await res.body.json() as { error: { code: string } };
    await dispatcher.close();
    expect(res.statusCode).toBe(403);
    expect(body.error.code).toBe('PLX_BROKER_FORBIDDEN');
    expect(await serviceImport(c(2), 'shop', 'forged')).toBeUndefined();
  });

  it('removes the ServiceImport everywhere when the last export is withdrawn', async () => {
    await cartExportedFrom(0, ['10.1.0.3', '10.1.0.4', '10.1.0.5']);
    await cartExportedFrom(1, ['10.2.0.1']);
    await waitFor(async () => sameSet(addressesOf(await importedSlices(c(2), 'shop', 'cart')), ['10.1.0.3', '10.1.0.4', '10.1.0.5', '10.2.0.1']), { what: 'both sources of cart in cluster-3', timeoutMs: SETUP_MS });
    await unexportService(c(0), 'shop', 'cart');
    await waitFor(async () => sameSet(addressesOf(await importedSlices(c(2), 'shop', 'cart')), ['10.2.0.1']), { what: 'only cluster-2 left' });
    await unexportService(c(1), 'shop', 'cart');
    for (const i of [0, 1, 2]) {
      await waitFor(async () => (await serviceImport(c(i), 'shop', 'cart')) === undefined && (await importedSlices(c(i), 'shop', 'cart')).length === 0, { what: `cart gone from cluster-${i + 1}` });
      const derived = (await c(i).client(CoreV1Api).listNamespacedService({ namespace: 'shop', labelSelector: 'multicluster.kubernetes.io/service-name=cart' })).items;
      expect(derived).toEqual([]);
    }
  });

  it('wrote the About API ClusterProperties in every cluster', async () => {
    for (const i of [0, 1, 2]) {
      const got = await c(i).kubectl(['get', 'clusterproperties.about.k8s.io', '-o', 'json']);
      const items = (JSON.parse(got.stdout) as { items: { metadata: { name: string }; spec: { value: string } }[] }).items;
      const byName = Object.fromEntries(items.map((p) => [p.metadata.name, p.spec.value]));
      expect(byName).toEqual({ 'cluster.clusterset.k8s.io': `cluster-${i + 1}`, 'clusterset.k8s.io': 'e2e.plexus.local' });
    }
    expect(readFileSync(`${fixture.mesh.dir}/broker.log`, 'utf8')).not.toContain('PRIVATE KEY');
  });
});
