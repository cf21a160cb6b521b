// Networks and gateways on the import side, end to end against real kube-apiservers: a
// real broker over mTLS relays exports and advertisements (network, gateway address); in
// each cluster the real CatalogView → NetworkView → service-import controller writes the
// EndpointSlices, and the TunnelTablePublisher the ConfigMap the local gateway reads.
// "west" (kube) sits on network "a" and runs a gateway at 10.0.9.9; "east" (kube) sits on
// "b" without one. "far" (broker only) exports from network "b" behind a gateway; "near"
// (broker only) exports from network "a".
import type { V1ConfigMap, V1EndpointSlice, V1Namespace } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advertisementPaths, type ClusterAdvertisementInput } from '../../broker/api/advertisement.ts';
import { catalogPaths, type ExportSpecInput } from '../../broker/api/catalog.ts';
import { WatchClient } from '../../agent/broker-client/watch-client.ts';
import { WatchDispatcher } from '../../agent/broker-client/watch-dispatcher.ts';
import { CatalogView } from '../../agent/catalog/catalog-view.ts';
import { setupServiceImportController, type ServiceImportController } from '../../agent/controllers/service-import/setup.ts';
import { systemTimers } from '../../agent/timing/clock.ts';
import { HttpKubeApi } from '../../agent/kube/kube-api.ts';
import { kubeAccess } from '../../agent/kube/kube-access.ts';
import { CONFIG_MAPS, ENDPOINT_SLICES, NAMESPACES } from '../../agent/kube/resources.ts';
import { GatewayTunnels } from '../../agent/network/gateway-tunnels.ts';
import { NetworkView } from '../../agent/network/network-view.ts';
import { TunnelTablePublisher } from '../../agent/network/tunnel-table-publisher.ts';
import { TUNNEL_TABLE_CONFIG_MAP, TUNNEL_TABLE_KEY, parseTunnelTable, type TunnelTable } from '../../agent/network/tunnel-table.ts';
import type { Cluster } from '../harness/cluster.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec } from './support/catalog-fixture.ts';

const logger = pino({ level: process.env.PLX_TEST_LOG ?? 'silent' });
const LEASE_SECONDS = 5;
const AGENT_NS = 'plexus-system';
const FAR_GATEWAY = '203.0.113.5:15443';

interface Importer {
  readonly controller: ServiceImportController;
  readonly started: Promise<void>;
  stop(): Promise<void>;
}

async function startImporter(broker: TestBroker, cluster: Cluster, identity: ClientIdentity, net: { network: string; gateway?: string[] }): Promise<Importer> {
  const view = new CatalogView();
  const stream = new WatchDispatcher();
  view.follow(stream);
  const watch = new WatchClient({
    sink: stream, logger, baseUrl: broker.url, trustBundle: broker.caPem, clientCert: identity,
    backoffInitialMs: 50, backoffMaxMs: 500, bookmarkTimeoutMs: 5_000,
  });
  const kube = kubeAccess(cluster.kubeConfig, { logger, informerBackoff: { baseMs: 50, maxMs: 500, jitter: 0.2 } });
  let publisher: TunnelTablePublisher | undefined;
  let tunnels: GatewayTunnels | undefined;
  if (net.gateway) {
    tunnels = new GatewayTunnels({ range: { min: 20000, max: 20099 }, localAddresses: net.gateway });
    publisher = new TunnelTablePublisher({ api: kube.api, namespace: AGENT_NS, tunnels, timers: systemTimers, logger, retryMs: 100 });
    await publisher.load();
    publisher.start();
  }
  const network = new NetworkView({ localCluster: cluster.name, localNetwork: net.network, catalog: view, tunnels });
  const controller = setupServiceImportController({
    api: kube.api, informers: kube.informers, status: kube.status, catalog: view, logger, timers: systemTimers,
    backoff: { baseMs: 50, maxMs: 1_000, jitter: 0.2 }, network,
  });
  kube.informers.start();
  watch.start();
  return {
    controller, started: controller.start(),
    async stop() {
      await controller.stop();
      publisher?.stop();
      await watch.stop();
      await kube.informers.stop();
    },
  };
}

type Slice = { addresses: string[]; ports: { name?: string; port?: number }[] };

async function slicesBySource(api: HttpKubeApi, name: string): Promise<Record<string, Slice>> {
  const list = await api.list<V1EndpointSlice>(ENDPOINT_SLICES, { namespace: 'shop', labelSelector: `multicluster.kubernetes.io/service-name=${name}` });
  return Object.fromEntries(list.items.map((s) => [
    s.metadata!.labels!['multicluster.kubernetes.io/source-cluster']!,
    { addresses: (s.endpoints ?? []).flatMap((e) => e.addresses), ports: (s.ports ?? []).map((p) => ({ name: p.name, port: p.port })) },
  ]));
}

async function tunnelTable(api: HttpKubeApi): Promise<TunnelTable | undefined> {
  const raw = (await api.get<V1ConfigMap>(CONFIG_MAPS, { namespace: AGENT_NS, name: TUNNEL_TABLE_CONFIG_MAP }))?.data?.[TUNNEL_TABLE_KEY];
  if (raw === undefined) return undefined;
  const t = parseTunnelTable(raw);
  if (typeof t === 'string') throw new Error(t);
  return t;
}

describe('agent import across networks: gateway slices and the tunnel table', () => {
  const lab = useClusters(2, { names: ['west', 'east'] });
  let broker: TestBroker;
  const ids: Record<string, ClientIdentity> = {};
  const importers: Record<string, Importer> = {};
  const api: Record<string, HttpKubeApi> = {};

  const publish = (cluster: string, spec: ExportSpecInput) =>
    broker.call(catalogPaths.export(spec.namespace, spec.name), { method: 'PUT', body: spec, identity: ids[cluster]! });
  const advertise = (cluster: string, ad: Omit<ClusterAdvertisementInput, 'cluster'>) =>
    broker.call(advertisementPaths.advertisement, { method: 'PUT', body: { cluster, ...ad }, identity: ids[cluster]! });
  const heartbeat = (cluster: string) => broker.call(catalogPaths.lease, { method: 'POST', body: {}, identity: ids[cluster]! });
  const web = (cluster: string, address: string) => exportSpec(cluster, 'shop', 'web', {
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [{ addresses: [address] }],
  });

  beforeAll(async () => {
    broker = await startTestBroker({ config: { leaseDurationSeconds: LEASE_SECONDS, leaseCheckIntervalMs: 600_000, watchBookmarkIntervalMs: 1_000 } });
    for (const c of ['west', 'east', 'far', 'near']) ids[c] = (await joinCluster(broker, c)).identity;
    for (const c of ['west', 'east']) {
      api[c] = new HttpKubeApi(lab.cluster(c).kubeConfig);
      for (const ns of ['shop', AGENT_NS]) await api[c]!.apply<V1Namespace>(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    expect((await advertise('west', { network: 'a', latencies: {} })).status).toBe(200);
    expect((await advertise('east', { network: 'b', latencies: {} })).status).toBe(200);
    expect((await advertise('far', { network: 'b', gateway: FAR_GATEWAY, latencies: {} })).status).toBe(200);
    expect((await advertise('near', { network: 'a', latencies: {} })).status).toBe(200);
    importers.west = await startImporter(broker, lab.cluster('west'), ids.west!, { network: 'a', gateway: ['10.0.9.9'] });
    importers.east = await startImporter(broker, lab.cluster('east'), ids.east!, { network: 'b' });
    await Promise.all(Object.values(importers).map((i) => i.started));
  });

  afterAll(async () => {
    for (const i of Object.values(importers)) await i.stop();
    await broker?.stop();
  });

  it('points another network\'s endpoints at the local gateway with an allocated port, publishes the tunnel, and keeps same-network endpoints direct', async () => {
    expect((await publish('far', web('far', '10.1.0.1'))).status).toBe(200);
    expect((await publish('near', web('near', '10.3.0.1'))).status).toBe(200);
    const table = await waitFor(async () => {
      const t = await tunnelTable(api.west!);
      return t?.tunnels.length === 1 && t;
    }, { what: 'tunnel table in west' });
    expect(table).toMatchObject({ version: 1, localAddresses: ['10.0.9.9'] });
    const [tunnel] = table.tunnels;
    expect(tunnel).toEqual({ listenPort: tunnel!.listenPort, cluster: 'far', gateway: FAR_GATEWAY, namespace: 'shop', name: 'web', port: 80, protocol: 'TCP', portName: 'http' });
    expect(tunnel!.listenPort).toBeGreaterThanOrEqual(20000);
    expect(tunnel!.listenPort).toBeLessThanOrEqual(20099);
    const slices = await waitFor(async () => {
      const s = await slicesBySource(api.west!, 'web');
      return s.far?.ports[0]?.port === tunnel!.listenPort && s.near && s;
    }, { what: 'west slices via the gateway' });
    expect(slices).toEqual({
      far: { addresses: ['10.0.9.9'], ports: [{ name: 'http', port: tunnel!.listenPort }] },
      near: { addresses: ['10.3.0.1'], ports: [{ name: 'http', port: 8080 }] },
    });
  });

  it('a cluster without a local gateway imports only its own network\'s endpoints', async () => {
    // east is on "b" like far (direct); near is on "a" and east has no gateway to reach it.
    const s = await waitFor(async () => {
      const got = await slicesBySource(api.east!, 'web');
      return got.far && got;
    }, { what: 'east slices' });
    await importers.east!.controller.controller.idle();
    expect(await slicesBySource(api.east!, 'web')).toEqual({ far: { addresses: ['10.1.0.1'], ports: [{ name: 'http', port: 8080 }] } });
    expect(s.near).toBeUndefined();
    expect(await tunnelTable(api.east!)).toBeUndefined();
  });

  it('an unavailable remote cluster leaves the answers and comes back on the same listen port', async () => {
    const port = (await tunnelTable(api.west!))!.tunnels[0]!.listenPort;
    expect((await heartbeat('near')).status).toBe(200);
    broker.clock.advance(LEASE_SECONDS + 1);
    expect((await heartbeat('near')).status).toBe(200);
    expect(await broker.broker.catalog.checkLeases()).toContain('far');
    await waitFor(async () => {
      const s = await slicesBySource(api.west!, 'web');
      return !s.far && s.near !== undefined;
    }, { what: 'far out of west' });
    expect((await tunnelTable(api.west!))!.tunnels.map((t) => t.listenPort)).toEqual([port]);
    expect((await heartbeat('far')).status).toBe(200);
    const back = await waitFor(async () => (await slicesBySource(api.west!, 'web')).far, { what: 'far back in west' });
    expect(back).toEqual({ addresses: ['10.0.9.9'], ports: [{ name: 'http', port }] });
  });

  it('a restarted agent keeps the listen ports from the published table', async () => {
    const before = await tunnelTable(api.west!);
    await importers.west!.stop();
    importers.west = await startImporter(broker, lab.cluster('west'), ids.west!, { network: 'a', gateway: ['10.0.9.9'] });
    await importers.west.started;
    await importers.west.controller.controller.idle();
    expect(await tunnelTable(api.west!)).toEqual(before);
    expect((await slicesBySource(api.west!, 'web')).far!.ports).toEqual([{ name: 'http', port: before!.tunnels[0]!.listenPort }]);
  });

  it('a withdrawn gateway advertisement takes that cluster\'s endpoints out and its tunnel off the table', async () => {
    expect((await advertise('far', { network: 'b', latencies: {} })).status).toBe(200);
    await waitFor(async () => {
      const [s, t] = await Promise.all([slicesBySource(api.west!, 'web'), tunnelTable(api.west!)]);
      return !s.far && s.near !== undefined && t?.tunnels.length === 0;
    }, { what: 'far and its tunnel gone from west' });
  });
});
