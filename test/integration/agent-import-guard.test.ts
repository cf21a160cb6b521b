// The importing half of the export guard against a real kube-apiserver: whatever a broker
// relays (one from before the guard, or a compromised one), the agent never imports a
// service into a protected namespace nor an endpoint address in a special range. The
// catalog is fed straight into the CatalogView, as the WatchClient would after a relist,
// because a current broker refuses to relay any of it (catalog-export-guard.test.ts).
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { CatalogView, type RefusedImport } from '../../agent/catalog/catalog-view.ts';
import { setupServiceImportController, type ServiceImportController } from '../../agent/controllers/service-import/setup.ts';
import { systemTimers } from '../../agent/timing/clock.ts';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { ENDPOINT_SLICES, NAMESPACES, SERVICE_IMPORTS } from '../../agent/kube/resources.ts';
import type { ServiceImport } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

const logger = pino({ level: process.env.PLX_TEST_LOG ?? 'silent' });
const T0 = '2026-01-01T00:00:00Z';

function merged(namespace: string, name: string): MergedService {
  return {
    namespace, name, type: 'ClusterSetIP', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }], sessionAffinity: 'None',
    exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
    members: [{ cluster: 'evil', createdAt: T0, conflicts: [], excluded: false }],
  };
}

function record(namespace: string, name: string, endpoints: string[][]): ExportRecord {
  return {
    cluster: 'evil', namespace, name, createdAt: T0, type: 'ClusterSetIP', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }],
    clusterIPs: [], sessionAffinity: 'None', endpointPorts: [{ name: 'dns', protocol: 'UDP', port: 53 }],
    endpoints: endpoints.map((addresses) => ({ addresses })), annotations: {}, revision: 1,
    exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
  };
}

describe('agent import guard', () => {
  const lab = useClusters(1, { names: ['west'] });
  let kube: KubeAccess;
  let controller: ServiceImportController;
  const view = new CatalogView({ onRefused: (r) => refused.push(r) });
  const refused: RefusedImport[] = [];

  beforeAll(async () => {
    kube = kubeAccess(lab.cluster('west').kubeConfig, { logger, informerBackoff: { baseMs: 50, maxMs: 500, jitter: 0.2 } });
    await kube.api.apply(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    controller = setupServiceImportController({
      api: kube.api, informers: kube.informers, status: kube.status, catalog: view, logger, timers: systemTimers,
      backoff: { baseMs: 50, maxMs: 1_000, jitter: 0.2 },
    });
    kube.informers.start();
    const started = controller.start();
    view.replace({
      revision: 7, clusters: [{ cluster: 'evil', available: true, leaseRenewedAt: null }],
      services: [merged('kube-system', 'kube-dns'), merged('shop', 'dns')],
      exports: [
        record('kube-system', 'kube-dns', [['127.0.0.1'], ['169.254.169.254']]),
        record('shop', 'dns', [['10.1.0.1'], ['127.0.0.1'], ['169.254.169.254', '10.1.0.2'], ['::1'], ['224.0.0.251']]),
      ],
    });
    await started;
  });

  afterAll(async () => {
    await controller?.stop();
    await kube?.informers.stop();
  });

  it('a relayed kube-system/kube-dns with loopback and metadata endpoints is never imported, and special-range addresses never reach an EndpointSlice', async () => {
    const slices = await waitFor(async () => {
      const list = await kube.api.list<V1EndpointSlice>(ENDPOINT_SLICES, { namespace: 'shop', labelSelector: 'multicluster.kubernetes.io/service-name=dns' });
      return list.items.length > 0 ? list.items : undefined;
    }, { what: 'shop/dns imported', timeoutMs: 30_000, intervalMs: 50 });
    expect(slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
    await controller.controller.idle();
    expect(await kube.api.get<ServiceImport>(SERVICE_IMPORTS, { namespace: 'kube-system', name: 'kube-dns' })).toBeNull();
    const inKubeSystem = await kube.api.list<V1EndpointSlice>(ENDPOINT_SLICES, { namespace: 'kube-system', labelSelector: 'multicluster.kubernetes.io/service-name' });
    expect(inKubeSystem.items).toEqual([]);
    expect(refused.map((r) => `${r.namespace}/${r.name} ${r.reason}${'address' in r ? ` ${r.address}` : ''}`)).toEqual([
      'kube-system/kube-dns protected-namespace', 'kube-system/kube-dns protected-namespace',
      'shop/dns loopback 127.0.0.1', 'shop/dns link-local 169.254.169.254', 'shop/dns loopback ::1', 'shop/dns multicast 224.0.0.251',
    ]);
  });
});
