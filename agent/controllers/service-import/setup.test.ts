import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import { CatalogView } from '../../catalog/catalog-view.ts';
import { ENDPOINT_SLICES, InformerRegistry, NAMESPACES, SERVICES, SERVICE_IMPORTS, StatusWriter } from '../../kube/index.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { FakeKube } from '../../../test/support/fake-kube.ts';
import { setupServiceImportController, type ServiceImportController } from './setup.ts';

const log = pino({ level: 'silent' });

const service = (name: string): MergedService => ({
  namespace: 'shop', name, type: 'ClusterSetIP', ports: [{ protocol: 'TCP', port: 80 }], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
  members: [{ cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false }],
});
const exportOf = (name: string, addresses: string[], revision = 1): ExportRecord => ({
  cluster: 'east', namespace: 'shop', name, createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP', ports: [{ protocol: 'TCP', port: 80 }],
  clusterIPs: [], sessionAffinity: 'None', endpointPorts: [{ protocol: 'TCP', port: 8080 }], endpoints: addresses.map((a) => ({ addresses: [a] })),
  annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision,
});

describe('setupServiceImportController', () => {
  const running: { c: ServiceImportController; r: InformerRegistry }[] = [];
  afterEach(async () => {
    for (const { c, r } of running.splice(0)) {
      await c.stop();
      await r.stop();
    }
  });

  function start(kube: FakeKube, catalog: CatalogView) {
    const timers = new FakeTimers();
    const informers = new InformerRegistry({ listWatch: kube.listWatch, logger: log, timers });
    const c = setupServiceImportController({ api: kube, informers, status: new StatusWriter(kube), catalog, logger: log, timers });
    running.push({ c, r: informers });
    informers.start();
    return { c, started: c.start() };
  }

  it('starts only once the catalog synced, then follows catalog events and namespaces created later', async () => {
    const kube = new FakeKube();
    const catalog = new CatalogView();
    const { c, started } = start(kube, catalog);
    catalog.replace({ revision: 1, services: [service('web')], exports: [exportOf('web', ['10.0.0.1'])], clusters: [] });
    await started;
    await c.controller.idle();
    expect(kube.objects(SERVICE_IMPORTS)).toEqual([]);

    kube.put(NAMESPACES, { metadata: { name: 'shop' } });
    await vi.waitFor(() => expect(kube.objects(SERVICE_IMPORTS)).toHaveLength(1));
    await c.controller.idle();

    catalog.apply({ type: 'export', revision: 2, cluster: 'east', namespace: 'shop', name: 'web', export: exportOf('web', ['10.0.0.1', '10.0.0.2'], 2) });
    await vi.waitFor(() => expect(kube.objects(ENDPOINT_SLICES)[0]?.endpoints).toHaveLength(2));

    catalog.apply({ type: 'service', revision: 3, namespace: 'shop', name: 'web', service: null });
    catalog.apply({ type: 'export', revision: 3, cluster: 'east', namespace: 'shop', name: 'web', export: null });
    await vi.waitFor(() => expect([...kube.objects(SERVICE_IMPORTS), ...kube.objects(SERVICES), ...kube.objects(ENDPOINT_SLICES)]).toEqual([]));
  });

  it('after a restart resyncs every key, recreating what was deleted by hand and removing orphans', async () => {
    const kube = new FakeKube();
    kube.put(NAMESPACES, { metadata: { name: 'shop' } });
    const first = new CatalogView();
    first.replace({ revision: 1, services: [service('web'), service('db')], exports: [exportOf('web', ['10.0.0.1']), exportOf('db', ['10.0.0.9'])], clusters: [] });
    const a = start(kube, first);
    await a.started;
    await vi.waitFor(() => expect(kube.objects(SERVICE_IMPORTS)).toHaveLength(2));
    await a.c.controller.idle();
    const snapshot = () => [...kube.objects(SERVICE_IMPORTS), ...kube.objects(SERVICES), ...kube.objects(ENDPOINT_SLICES)].map((o) => o.metadata!.name!).sort();
    const webObjects = snapshot().filter((n) => n.includes('web'));
    await a.c.stop();

    // While it was down: db was withdrawn and a web slice deleted by hand.
    await kube.delete(ENDPOINT_SLICES, { namespace: 'shop', name: kube.objects(ENDPOINT_SLICES).find((s) => s.metadata!.name!.includes('web'))!.metadata!.name! });
    const second = new CatalogView();
    second.replace({ revision: 5, services: [service('web')], exports: [exportOf('web', ['10.0.0.1'])], clusters: [] });
    const b = start(kube, second);
    await b.started;
    await vi.waitFor(() => expect(snapshot()).toEqual(webObjects));
    await b.c.controller.idle();
    expect(snapshot()).toEqual(webObjects);
  });
});
