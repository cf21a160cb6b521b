// The agent's import side end to end: a real broker over mTLS, two real kube-apiservers,
// and in each cluster the real WatchClient → WatchDispatcher → CatalogView → service-import controller.
// Cluster "east" exports by calling the broker's HTTP API with its joined identity; both
// clusters (the exporter too) must converge on ServiceImport + derived Service +
// EndpointSlices. No kube-controller-manager runs, so nothing is garbage-collected: every
// deletion seen here is the controller's own.
import type { V1EndpointSlice, V1Namespace, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths, type ExportSpecInput } from '../../broker/api/catalog.ts';
import { WatchClient } from '../../agent/broker-client/watch-client.ts';
import { WatchDispatcher } from '../../agent/broker-client/watch-dispatcher.ts';
import { CatalogView } from '../../agent/catalog/catalog-view.ts';
import { derivedServiceName, endpointSliceName } from '../../agent/controllers/service-import/import-names.ts';
import { setupServiceImportController, type ServiceImportController } from '../../agent/controllers/service-import/setup.ts';
import { systemTimers } from '../../agent/timing/clock.ts';
import { HttpKubeApi } from '../../agent/kube/kube-api.ts';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { ENDPOINT_SLICES, NAMESPACES, SERVICES, SERVICE_IMPORTS } from '../../agent/kube/resources.ts';
import type { Cluster } from '../harness/cluster.ts';
import type { ServiceImport } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec } from './support/catalog-fixture.ts';

const logger = pino({ level: process.env.PLX_TEST_LOG ?? 'silent' });
const LEASE_SECONDS = 5;

interface Importer {
  readonly view: CatalogView;
  readonly controller: ServiceImportController;
  stop(): Promise<void>;
}

function startImporter(broker: TestBroker, cluster: Cluster, identity: ClientIdentity): Importer & { started: Promise<void> } {
  const view = new CatalogView();
  const stream = new WatchDispatcher();
  view.follow(stream);
  const watch = new WatchClient({
    sink: stream, logger, baseUrl: broker.url, trustBundle: broker.caPem, clientCert: identity,
    backoffInitialMs: 50, backoffMaxMs: 500, bookmarkTimeoutMs: 5_000,
  });
  const kube: KubeAccess = kubeAccess(cluster.kubeConfig, { logger, informerBackoff: { baseMs: 50, maxMs: 500, jitter: 0.2 } });
  const controller = setupServiceImportController({
    api: kube.api, informers: kube.informers, status: kube.status, catalog: view, logger, timers: systemTimers,
    backoff: { baseMs: 50, maxMs: 1_000, jitter: 0.2 },
  });
  kube.informers.start();
  watch.start();
  return {
    view, controller, started: controller.start(),
    async stop() {
      await controller.stop();
      await watch.stop();
      await kube.informers.stop();
    },
  };
}

/** What a cluster holds of one import, read straight from its API server. */
async function importState(api: HttpKubeApi, namespace: string, name: string) {
  const [si, services, slices] = await Promise.all([
    api.get<ServiceImport>(SERVICE_IMPORTS, { namespace, name }),
    api.list<V1Service>(SERVICES, { namespace, labelSelector: `app.kubernetes.io/managed-by=plexus,multicluster.kubernetes.io/service-name=${name}` }),
    api.list<V1EndpointSlice>(ENDPOINT_SLICES, { namespace, labelSelector: `multicluster.kubernetes.io/service-name=${name}` }),
  ]);
  const byName = (a: { metadata?: { name?: string } }, b: { metadata?: { name?: string } }) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1);
  return { si, services: services.items.sort(byName), slices: slices.items.sort(byName) };
}

const addresses = (slices: V1EndpointSlice[]) => slices.flatMap((s) => (s.endpoints ?? []).map((e) => e.addresses[0]!)).sort();
const ips = (n: number, third = 0) => Array.from({ length: n }, (_, i) => `10.1.${third + Math.floor(i / 250)}.${(i % 250) + 1}`);

describe('agent import: broker catalog → ServiceImport, derived Service, EndpointSlices', () => {
  const lab = useClusters(2, { names: ['east', 'west'] });
  let broker: TestBroker;
  const ids: Record<string, ClientIdentity> = {};
  const importers: Record<string, Importer> = {};
  const api: Record<string, HttpKubeApi> = {};

  const publish = (cluster: string, spec: ExportSpecInput) =>
    broker.call(catalogPaths.export(spec.namespace, spec.name), { method: 'PUT', body: spec, identity: ids[cluster]! });
  const withdraw = (cluster: string, namespace: string, name: string) =>
    broker.call(catalogPaths.export(namespace, name), { method: 'DELETE', identity: ids[cluster]! });
  const heartbeat = (cluster: string) => broker.call(catalogPaths.lease, { method: 'POST', body: {}, identity: ids[cluster]! });
  const createNamespace = (cluster: string, name: string) => api[cluster]!.apply<V1Namespace>(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const web = (endpoints: string[], o: Partial<ExportSpecInput> = {}) => exportSpec('east', 'shop', 'web', {
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: endpoints.map((a, i) => ({ addresses: [a], hostname: `web-${i}`, zone: 'zone-a' })),
    ...o,
  });

  beforeAll(async () => {
    broker = await startTestBroker({ config: { leaseDurationSeconds: LEASE_SECONDS, leaseCheckIntervalMs: 600_000, watchBookmarkIntervalMs: 1_000 } });
    for (const c of ['east', 'west']) {
      ids[c] = (await joinCluster(broker, c)).identity;
      api[c] = new HttpKubeApi(lab.cluster(c).kubeConfig);
      await createNamespace(c, 'shop');
    }
    for (const c of ['east', 'west']) {
      const importer = startImporter(broker, lab.cluster(c), ids[c]!);
      importers[c] = importer;
      await importer.started;
    }
  });

  afterAll(async () => {
    for (const i of Object.values(importers)) await i.stop();
    await broker?.stop();
  });

  it('imports a service exported by east into west (and into east itself)', async () => {
    expect((await publish('east', web(['10.1.0.1', '10.1.0.2']))).status).toBe(200);
    for (const c of ['west', 'east']) {
      const state = await waitFor(async () => {
        const s = await importState(api[c]!, 'shop', 'web');
        return s.si?.status?.clusters?.length === 1 && s.slices.length === 1 && s.si.spec.ips?.length === 1 && s.services.length === 1 && s;
      }, { what: `import in ${c}` });
      const svc = state.services[0]!;
      expect(svc.metadata!.name).toBe(derivedServiceName('shop', 'web'));
      expect(svc.spec!.selector).toBeUndefined();
      expect(state.si!.spec).toMatchObject({ type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], ips: [svc.spec!.clusterIP] });
      expect(state.si!.status).toMatchObject({ clusters: [{ cluster: 'east' }], conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] });
      expect(state.si!.metadata!.managedFields!.map((f) => f.manager)).toContain('plexus');
      const slice = state.slices[0]!;
      expect(slice.metadata!.name).toBe(endpointSliceName('shop', 'web', 'east', 'IPv4', 0));
      expect(slice.metadata!.labels).toMatchObject({
        'multicluster.kubernetes.io/service-name': 'web', 'multicluster.kubernetes.io/source-cluster': 'east',
        'endpointslice.kubernetes.io/managed-by': 'agent.plexus.io', 'kubernetes.io/service-name': svc.metadata!.name,
      });
      expect(slice.metadata!.ownerReferences).toMatchObject([{ kind: 'ServiceImport', name: 'web', uid: state.si!.metadata!.uid }]);
      expect(slice.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
      expect(slice.endpoints).toMatchObject([
        { addresses: ['10.1.0.1'], hostname: 'web-0', zone: 'zone-a', conditions: { ready: true } },
        { addresses: ['10.1.0.2'], hostname: 'web-1', zone: 'zone-a', conditions: { ready: true } },
      ]);
    }
  });

  it('propagates endpoint changes, splitting past 100 endpoints and merging back', async () => {
    await publish('east', web(ips(150)));
    const grown = await waitFor(async () => {
      const s = await importState(api.west!, 'shop', 'web');
      return s.slices.length === 2 && addresses(s.slices).length === 150 && s;
    }, { what: '150 endpoints in two slices' });
    expect(grown.slices.map((s) => s.endpoints!.length).sort()).toEqual([100, 50].sort());
    expect(addresses(grown.slices)).toEqual([...ips(150)].sort());

    await publish('east', web(['10.1.9.9']));
    const shrunk = await waitFor(async () => {
      const s = await importState(api.west!, 'shop', 'web');
      return s.slices.length === 1 && addresses(s.slices).length === 1 && s;
    }, { what: 'back to one slice' });
    expect(addresses(shrunk.slices)).toEqual(['10.1.9.9']);
  });

  it('imports nothing where the namespace is missing, then imports once it is created', async () => {
    await createNamespace('east', 'late');
    await publish('east', exportSpec('east', 'late', 'api', { endpoints: [{ addresses: ['10.1.7.1'] }] }));
    await waitFor(async () => (await importState(api.east!, 'late', 'api')).slices.length === 1, { what: 'import of late/api in east' });
    // west has seen the same catalog revision (its view holds late/api) yet created nothing.
    await waitFor(async () => importers.west!.view.get('late', 'api') !== undefined, { what: 'late/api in west catalog view' });
    await importers.west!.controller.controller.idle();
    expect(await importState(api.west!, 'late', 'api')).toMatchObject({ si: null, services: [], slices: [] });

    await createNamespace('west', 'late');
    const s = await waitFor(async () => {
      const st = await importState(api.west!, 'late', 'api');
      return st.si?.spec.ips?.length === 1 && st.slices.length === 1 && st;
    }, { what: 'late/api imported in west' });
    expect(addresses(s.slices)).toEqual(['10.1.7.1']);
  });

  it('removes an unavailable source cluster\'s slices and restores them when its lease is renewed', async () => {
    expect((await heartbeat('east')).status).toBe(200);
    broker.clock.advance(LEASE_SECONDS + 1);
    expect(await broker.broker.catalog.checkLeases()).toContain('east');
    const down = await waitFor(async () => {
      const s = await importState(api.west!, 'shop', 'web');
      return s.slices.length === 0 && (s.si?.status?.clusters ?? []).length === 0 && s;
    }, { what: 'east slices removed in west' });
    // An unavailable exporter is not a withdrawal: the ServiceImport and its ClusterSetIP stay.
    expect(down.si!.spec.ips).toHaveLength(1);
    expect(down.services).toHaveLength(1);

    expect((await heartbeat('east')).status).toBe(200);
    const up = await waitFor(async () => {
      const s = await importState(api.west!, 'shop', 'web');
      return s.slices.length === 1 && s.si?.status?.clusters?.length === 1 && s;
    }, { what: 'east slices restored in west' });
    expect(addresses(up.slices)).toEqual(['10.1.9.9']);
    expect(up.si!.status?.clusters).toEqual([{ cluster: 'east' }]);
  });

  it('a restarted import controller converges on exactly the desired objects', async () => {
    await importers.west!.stop();
    // While west's controller is down: db appears, late/api is withdrawn, web changes, a
    // slice is deleted by hand, and a stale Plexus slice of a departed cluster lingers.
    await publish('east', exportSpec('east', 'shop', 'db', { endpoints: [{ addresses: ['10.1.5.1'] }, { addresses: ['fd00::5'] }] }));
    await withdraw('east', 'late', 'api');
    await publish('east', web(ips(120, 20)));
    await api.west!.delete(ENDPOINT_SLICES, { namespace: 'shop', name: endpointSliceName('shop', 'web', 'east', 'IPv4', 0) });
    await api.west!.apply<V1EndpointSlice>(ENDPOINT_SLICES, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { namespace: 'shop', name: endpointSliceName('shop', 'web', 'gone', 'IPv4', 0), labels: {
        'app.kubernetes.io/managed-by': 'plexus', 'endpointslice.kubernetes.io/managed-by': 'agent.plexus.io',
        'multicluster.kubernetes.io/service-name': 'web', 'multicluster.kubernetes.io/source-cluster': 'gone',
      } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.9.9.9'] }],
    });

    const restarted = startImporter(broker, lab.cluster('west'), ids.west!);
    importers.west = restarted;
    await restarted.started;

    const expected = {
      web: [0, 1].map((i) => endpointSliceName('shop', 'web', 'east', 'IPv4', i)),
      db: [endpointSliceName('shop', 'db', 'east', 'IPv4', 0), endpointSliceName('shop', 'db', 'east', 'IPv6', 0)].sort(),
    };
    await waitFor(async () => {
      const [w, d, l] = await Promise.all([importState(api.west!, 'shop', 'web'), importState(api.west!, 'shop', 'db'), importState(api.west!, 'late', 'api')]);
      return JSON.stringify(w.slices.map((s) => s.metadata!.name)) === JSON.stringify(expected.web)
        && addresses(w.slices).length === 120
        && JSON.stringify(d.slices.map((s) => s.metadata!.name)) === JSON.stringify(expected.db)
        && l.si === null && l.slices.length === 0 && l.services.length === 0;
    }, { what: 'west converged after restart' });
    await restarted.controller.controller.idle();

    const all = await api.west!.list<V1EndpointSlice>(ENDPOINT_SLICES, { labelSelector: 'endpointslice.kubernetes.io/managed-by=agent.plexus.io' });
    expect(all.items.map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`).sort()).toEqual(
      [...expected.web, ...expected.db].map((n) => `shop/${n}`).sort());
    const services = await api.west!.list<V1Service>(SERVICES, { labelSelector: 'app.kubernetes.io/managed-by=plexus' });
    expect(services.items.map((s) => s.metadata!.name).sort()).toEqual([derivedServiceName('shop', 'db'), derivedServiceName('shop', 'web')].sort());
    const imports = await api.west!.list<ServiceImport>(SERVICE_IMPORTS, {});
    expect(imports.items.map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`).sort()).toEqual(['shop/db', 'shop/web']);
    expect(addresses((await importState(api.west!, 'shop', 'web')).slices)).toEqual([...ips(120, 20)].sort());
  });

  it('never imports an excluded (type-conflicting) exporter; when the oldest export goes, the type flips to Headless', async () => {
    await publish('east', exportSpec('east', 'shop', 'cache', { endpoints: [{ addresses: ['10.1.3.1'] }] }));
    const westSpec = exportSpec('west', 'shop', 'cache', { type: 'Headless', createdAt: '2026-01-02T00:00:00Z', endpoints: [{ addresses: ['10.2.3.1'], hostname: 'cache-0' }] });
    expect((await publish('west', westSpec)).status).toBe(200);
    for (const c of ['east', 'west']) {
      await waitFor(async () => importers[c]!.view.get('shop', 'cache')?.members.find((m) => m.cluster === 'west')?.excluded, { what: `west excluded in ${c}'s catalog view` });
      await importers[c]!.controller.controller.idle();
      const s = await waitFor(async () => {
        const st = await importState(api[c]!, 'shop', 'cache');
        return st.si?.status?.clusters?.length === 1 && st.slices.length === 1 && st;
      }, { what: `cache imported in ${c}` });
      expect(s.si!.spec.type).toBe('ClusterSetIP');
      expect(s.si!.status?.clusters).toEqual([{ cluster: 'east' }]);
      expect(addresses(s.slices)).toEqual(['10.1.3.1']);
    }

    await withdraw('east', 'shop', 'cache');
    const headless = await waitFor(async () => {
      const st = await importState(api.west!, 'shop', 'cache');
      return st.si?.spec.type === 'Headless' && st.services.length === 0 && st.slices.length === 1
        && st.si.status?.clusters?.[0]?.cluster === 'west' && st;
    }, { what: 'cache flipped to Headless in west' });
    expect(headless.si!.spec.ips).toBeUndefined();
    expect(headless.slices[0]!.metadata!.name).toBe(endpointSliceName('shop', 'cache', 'west', 'IPv4', 0));
    expect(headless.slices[0]!.metadata!.labels!['kubernetes.io/service-name']).toBeUndefined();
    expect(headless.slices[0]!.endpoints).toMatchObject([{ addresses: ['10.2.3.1'], hostname: 'cache-0' }]);
  });

  it('deletes the ServiceImport, derived Service and slices everywhere when the last export is withdrawn', async () => {
    await withdraw('east', 'shop', 'web');
    for (const c of ['west', 'east']) {
      await waitFor(async () => {
        const s = await importState(api[c]!, 'shop', 'web');
        return s.si === null && s.services.length === 0 && s.slices.length === 0;
      }, { what: `shop/web gone from ${c}` });
    }
    // db is untouched.
    expect((await importState(api.west!, 'shop', 'db')).slices).toHaveLength(2);
  });
});
