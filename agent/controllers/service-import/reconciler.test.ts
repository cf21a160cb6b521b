import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import type { ServiceImport } from '../../../crds/types.ts';
import { CatalogView } from '../../catalog/catalog-view.ts';
import {
  ENDPOINT_SLICES, InformerRegistry, NAMESPACES, SERVICES, SERVICE_IMPORTS, StatusWriter, TerminalError,
  type ComponentInformers,
} from '../../kube/index.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { FakeKube } from '../../../test/support/fake-kube.ts';
import { derivedServiceName, endpointSliceName } from './import-names.ts';
import { ServiceImportReconciler } from './reconciler.ts';
import { ServedFamilies } from './served-families.ts';
import { AgentError } from '../../errors.ts';

const log = pino({ level: 'silent' });
const ctx = { log };

function merged(o: Partial<MergedService> = {}, clusters = ['east', 'west']): MergedService {
  return {
    namespace: 'shop', name: 'web', type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
    members: clusters.map((cluster) => ({ cluster, createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false })),
    ...o,
  };
}

function record(cluster: string, addresses: string[]): ExportRecord {
  return {
    cluster, namespace: 'shop', name: 'web', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }], clusterIPs: [], sessionAffinity: 'None',
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: addresses.map((a) => ({ addresses: [a] })), annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1,
  };
}

describe('ServiceImportReconciler', () => {
  let kube: FakeKube;
  let catalog: CatalogView;
  let informers: ComponentInformers;
  let reconciler: ServiceImportReconciler;
  let registry: InformerRegistry;

  beforeEach(async () => {
    kube = new FakeKube();
    catalog = new CatalogView();
    registry = new InformerRegistry({ listWatch: kube.listWatch, logger: log, timers: new FakeTimers() });
    informers = registry.declare('service-import', [NAMESPACES, SERVICE_IMPORTS, SERVICES, ENDPOINT_SLICES]);
    registry.start();
    await informers.waitForSync();
    reconciler = new ServiceImportReconciler({ api: kube, informers, status: new StatusWriter(kube), catalog });
  });

  const publish = (service: MergedService | null, exports: ExportRecord[], down: string[] = []) =>
    catalog.replace({
      revision: 1, services: service ? [service] : [], exports,
      clusters: ['east', 'west'].map((c) => ({ cluster: c, available: !down.includes(c), leaseRenewedAt: null })),
    });
  const nsShop = () => kube.put(NAMESPACES, { metadata: { name: 'shop' } });
  const sliceNames = () => kube.objects(ENDPOINT_SLICES, 'shop').map((s) => s.metadata!.name);
  const si = () => kube.objects(SERVICE_IMPORTS, 'shop')[0];

  it('creates the ServiceImport, the derived Service and one slice per source cluster, with ips and status', async () => {
    nsShop();
    publish(merged(), [record('east', ['10.0.0.1']), record('west', ['10.1.0.1', '10.1.0.2'])]);
    await reconciler.reconcile('shop/web', ctx);

    const svc = kube.objects(SERVICES, 'shop');
    expect(svc.map((s) => s.metadata!.name)).toEqual([derivedServiceName('shop', 'web')]);
    const imp = si()!;
    expect(imp.spec).toEqual({ type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: 'None', ips: [svc[0]!.spec!.clusterIP], ipFamilies: ['IPv4'] });
    expect(imp.status).toMatchObject({ clusters: [{ cluster: 'east' }, { cluster: 'west' }], conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] });
    expect(svc[0]!.metadata!.ownerReferences![0]!.uid).toBe(imp.metadata!.uid);
    expect(sliceNames()).toEqual([endpointSliceName('shop', 'web', 'east', 'IPv4', 0), endpointSliceName('shop', 'web', 'west', 'IPv4', 0)].sort());
    const west = kube.objects(ENDPOINT_SLICES, 'shop').find((s) => s.metadata!.labels!['multicluster.kubernetes.io/source-cluster'] === 'west')!;
    expect(west.endpoints!.map((e) => e.addresses[0])).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(west.metadata!.labels!['kubernetes.io/service-name']).toBe(derivedServiceName('shop', 'web'));
  });

  it('writes nothing when reconciled again with nothing new', async () => {
    nsShop();
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    const before = kube.writes.length;
    await reconciler.reconcile('shop/web', ctx);
    expect(kube.writes.slice(before)).toEqual([]);
  });

  it('creates nothing where the namespace does not exist', async () => {
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    expect(kube.writes).toEqual([]);
  });

  it('deletes the ServiceImport, derived Service and slices explicitly when the last export goes', async () => {
    nsShop();
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    publish(null, []);
    await reconciler.reconcile('shop/web', ctx);
    expect(kube.objects(SERVICE_IMPORTS)).toEqual([]);
    expect(kube.objects(SERVICES)).toEqual([]);
    expect(kube.objects(ENDPOINT_SLICES)).toEqual([]);
  });

  it('removes an unavailable cluster\'s slices and status entry, and restores them when it is back', async () => {
    nsShop();
    const exports = [record('east', ['10.0.0.1']), record('west', ['10.1.0.1'])];
    publish(merged(), exports, ['west']);
    await reconciler.reconcile('shop/web', ctx);
    expect(sliceNames()).toEqual([endpointSliceName('shop', 'web', 'east', 'IPv4', 0)]);
    expect(si()!.status?.clusters).toEqual([{ cluster: 'east' }]);
    publish(merged(), exports);
    await reconciler.reconcile('shop/web', ctx);
    expect(sliceNames()).toHaveLength(2);
    expect(si()!.status?.clusters).toEqual([{ cluster: 'east' }, { cluster: 'west' }]);
  });

  it('reports Ready=False Pending while no exporting cluster is available, and keeps the lastTransitionTime of an unchanged condition', async () => {
    nsShop();
    const exports = [record('east', ['10.0.0.1'])];
    publish(merged(), exports, ['east']);
    await reconciler.reconcile('shop/web', ctx);
    expect(si()!.status?.conditions).toMatchObject([{ type: 'Ready', status: 'False', reason: 'Pending' }]);
    publish(merged(), exports);
    await reconciler.reconcile('shop/web', ctx);
    const ready = si()!.status!.conditions![0]!;
    expect(ready).toMatchObject({ type: 'Ready', status: 'True', reason: 'Ready' });
    await reconciler.reconcile('shop/web', ctx);
    expect(si()!.status!.conditions![0]!.lastTransitionTime).toEqual(ready.lastTransitionTime);
  });

  it('drops the derived Service and ips when the type flips to Headless', async () => {
    nsShop();
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    publish(merged({ type: 'Headless' }), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    expect(kube.objects(SERVICES)).toEqual([]);
    expect(si()!.spec.ips).toBeUndefined();
    expect(si()!.spec.type).toBe('Headless');
    expect(kube.objects(ENDPOINT_SLICES)[0]!.metadata!.labels!['kubernetes.io/service-name']).toBeUndefined();
  });

  it('prunes stale Plexus objects on resync but never touches unlabelled ones', async () => {
    nsShop();
    const stale: V1EndpointSlice = {
      metadata: { name: 'plx-web-gone-cluster', namespace: 'shop', labels: {
        'app.kubernetes.io/managed-by': 'plexus', 'endpointslice.kubernetes.io/managed-by': 'agent.plexus.io',
        'multicluster.kubernetes.io/service-name': 'web', 'multicluster.kubernetes.io/source-cluster': 'gone',
      } },
      addressType: 'IPv4', endpoints: [],
    };
    const foreign: V1EndpointSlice = { metadata: { name: 'someone-elses', namespace: 'shop', labels: { 'multicluster.kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [] };
    const staleSvc: V1Service = { metadata: { name: 'plx-web-old', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': 'web' } }, spec: {} };
    kube.put(ENDPOINT_SLICES, stale);
    kube.put(ENDPOINT_SLICES, foreign);
    kube.put(SERVICES, staleSvc);
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await reconciler.reconcile('shop/web', ctx);
    expect(sliceNames()).toEqual([endpointSliceName('shop', 'web', 'east', 'IPv4', 0), 'someone-elses']);
    expect(kube.objects(SERVICES).map((s) => s.metadata!.name)).toEqual([derivedServiceName('shop', 'web')]);
  });

  it('refuses to take over a ServiceImport that Plexus does not own', async () => {
    nsShop();
    kube.put<ServiceImport>(SERVICE_IMPORTS, { metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'Headless', ports: [] } });
    publish(merged(), [record('east', ['10.0.0.1'])]);
    await expect(reconciler.reconcile('shop/web', ctx)).rejects.toBeInstanceOf(TerminalError);
    publish(null, []);
    await reconciler.reconcile('shop/web', ctx);
    expect(kube.objects(SERVICE_IMPORTS)).toHaveLength(1);
    expect(kube.writes).toEqual([]);
  });

  describe('a Headless import in a cluster that serves only IPv4', () => {
    const headless = (reconcilerOf: () => ServiceImportReconciler, ipFamilies: MergedService['ipFamilies'], addresses: string[]) => async () => {
      nsShop();
      publish(merged({ type: 'Headless', ipFamilies }), [{ ...record('east', addresses), type: 'Headless' }]);
      await reconcilerOf().reconcile('shop/web', ctx);
    };
    const withServed = () => new ServiceImportReconciler({ api: kube, informers, status: new StatusWriter(kube), catalog, servedFamilies: new ServedFamilies(kube) });

    it('IPv6-only exporters were imported as Ready with IPv6 slices: now Ready=False IPFamilyNotSupported and no slice', async () => {
      await headless(withServed, ['IPv6'], ['fd00::1'])();
      expect(si()!.status!.conditions).toMatchObject([{ type: 'Ready', status: 'False', reason: 'IPFamilyNotSupported' }]);
      expect(si()!.spec.ipFamilies).toBeUndefined();
      expect(sliceNames()).toEqual([]);
      expect(kube.objects(SERVICES)).toEqual([]);
    });

    it('IPv4 exporters stay Ready with their slice', async () => {
      await headless(withServed, ['IPv4'], ['10.0.0.1'])();
      expect(si()!.status!.conditions).toMatchObject([{ type: 'Ready', status: 'True', reason: 'Ready' }]);
      expect(si()!.spec.ipFamilies).toEqual(['IPv4']);
      expect(sliceNames()).toEqual([endpointSliceName('shop', 'web', 'east', 'IPv4', 0)]);
    });

    it('when the API server cannot tell (dry run refused), every family is assumed served and the import still converges', async () => {
      kube.dryRunFailure = new AgentError('PLX_AGENT_KUBE', 'webhook refuses dry run', { status: 400 });
      await headless(withServed, ['IPv6'], ['fd00::1'])();
      expect(si()!.status!.conditions).toMatchObject([{ type: 'Ready', status: 'True', reason: 'Ready' }]);
      expect(sliceNames()).toEqual([endpointSliceName('shop', 'web', 'east', 'IPv6', 0)]);
    });
  });

  it('waits for the catalog: before the first snapshot it deletes nothing and asks to be retried', async () => {
    nsShop();
    await expect(reconciler.reconcile('shop/web', ctx)).rejects.toMatchObject({ code: 'PLX_AGENT_CATALOG_NOT_SYNCED' });
    await expect(reconciler.reconcile('not-a-key', ctx)).rejects.toBeInstanceOf(TerminalError);
  });
});
