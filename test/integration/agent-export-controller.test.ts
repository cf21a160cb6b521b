// The export side of the agent against a real kube-apiserver and a real broker over mTLS:
// ClusterProperties and the lease at start, ServiceExport conditions, publishing ready
// endpoints, endpoint churn, withdrawal, and the start-up sync after downtime. Merged services
// (for Conflict) come from the real catalog view fed by the real watch, as agent/main.ts wires them.
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type V1EndpointSlice } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths, type ExportRecord } from '../../broker/api/catalog.ts';
import { BrokerClient } from '../../agent/broker-client/broker-client.ts';
import { setupServiceExportController, type ServiceExportController } from '../../agent/controllers/service-export/setup.ts';
import { WatchClient } from '../../agent/broker-client/watch-client.ts';
import { CatalogView } from '../../agent/catalog/catalog-view.ts';
import { startMembership, type RunningMembership } from '../../agent/controllers/membership/membership.ts';
import type { AgentError } from '../../agent/errors.ts';
import { systemClock, systemTimers } from '../../agent/timing/clock.ts';
import { kubeAccess } from '../../agent/kube/kube-access.ts';
import { CLUSTER_PROPERTIES } from '../../agent/kube/resources.ts';
import { MCS_GROUP, MCS_VERSION, PROPERTY_CLUSTERSET, PROPERTY_CLUSTER_ID } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

const logger = pino({ level: process.env.PLEXUS_TEST_LOG ?? 'silent' });

interface Agent { membership: RunningMembership; exports: ServiceExportController; stop(): Promise<void> }

describe('agent export side', () => {
  const lab = useClusters(1);
  let broker: TestBroker;
  let identity: ClientIdentity;
  let agent: Agent | undefined;
  let nsCounter = 0;

  beforeAll(async () => {
    broker = await startTestBroker({ config: { leaseDurationSeconds: 3 } });
    identity = (await joinCluster(broker, 'east')).identity;
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(async () => {
    await broker?.stop();
  });

  /** The agent's export side as agent/main.ts wires it: merged services come from the real catalog view, fed by the real watch on the broker. */
  async function startAgent(clusterId = 'east'): Promise<Agent> {
    const kube = kubeAccess(lab.cluster(0).kubeConfig, { logger, informerBackoff: { baseMs: 50, maxMs: 1000, jitter: 0.2 } });
    const client = new BrokerClient({ baseUrl: broker.url, trustBundle: broker.caPem, clientCert: identity, timeoutMs: 5000 });
    const deps = { logger, clock: systemClock, timers: systemTimers };
    const membership = await startMembership({ api: kube.api, broker: client, clusterId, clusterset: broker.clusterset, ...deps });
    const catalog = new CatalogView();
    const watch = new WatchClient({
      sink: catalog, logger, baseUrl: broker.url, trustBundle: broker.caPem, clientCert: identity,
      backoffInitialMs: 50, backoffMaxMs: 500, bookmarkTimeoutMs: 5_000,
    });
    watch.start();
    const exports = setupServiceExportController({
      clusterId, informers: kube.informers, status: kube.status, broker: client, mergedServices: catalog, ...deps,
      backoff: { baseMs: 50, maxMs: 2000, jitter: 0.2 },
    });
    await exports.start();
    return {
      membership, exports,
      async stop() {
        await exports.stop();
        await watch.stop();
        await membership.stop();
        await kube.informers.stop();
        await client.close();
      },
    };
  }

  async function namespace(): Promise<string> {
    const ns = `exp-${++nsCounter}`;
    await lab.cluster(0).client(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    return ns;
  }

  const createServiceExport = (ns: string, name: string) =>
    lab.cluster(0).client(CustomObjectsApi).createNamespacedCustomObject({
      group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports',
      body: { apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name, annotations: { 'plexus.io/dns-ttl': '5' } } },
    });

  async function condition(ns: string, name: string, type: string): Promise<{ status: string; reason: string; message: string } | undefined> {
    const se = await lab.cluster(0).client(CustomObjectsApi).getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name }) as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
    return se.status?.conditions?.find((c) => c.type === type);
  }

  async function brokerExports(): Promise<ExportRecord[]> {
    const r = await broker.call(catalogPaths.exports, { identity });
    expect(r.status).toBe(200);
    return (r.body as { exports: ExportRecord[] }).exports;
  }

  const slice = (ns: string, svc: string, name: string, endpoints: V1EndpointSlice['endpoints']): V1EndpointSlice => ({
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', endpoints, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  });

  it('writes the ClusterProperties and keeps the broker lease', async () => {
    agent = await startAgent();
    const api = kubeAccess(lab.cluster(0).kubeConfig, { logger }).api;
    expect((await api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTER_ID }))?.spec.value).toBe('east');
    expect((await api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTERSET }))?.spec.value).toBe(broker.clusterset);
    await waitFor(async () => agent!.membership.heartbeat.lastRenewedAt, { what: 'first lease renewal', timeoutMs: 20_000 });
    const snapshot = await broker.call(catalogPaths.catalog, { identity });
    expect((snapshot.body as { clusters: { cluster: string; available: boolean }[] }).clusters).toContainEqual(expect.objectContaining({ cluster: 'east', available: true }));
  });

  it('refuses to start under another cluster ID while a member, and leave() ends membership', async () => {
    const kube = kubeAccess(lab.cluster(0).kubeConfig, { logger });
    const client = new BrokerClient({ baseUrl: broker.url, trustBundle: broker.caPem, clientCert: identity });
    const deps = { api: kube.api, broker: client, clusterset: broker.clusterset, logger, clock: systemClock, timers: systemTimers };
    await expect(startMembership({ ...deps, clusterId: 'west' })).rejects.toMatchObject({ code: 'PLX_AGENT_CLUSTER_ID_IMMUTABLE' } satisfies Partial<AgentError>);
    await expect(startMembership({ ...deps, clusterId: 'east', clusterset: 'other.example' })).rejects.toMatchObject({ code: 'PLX_AGENT_CLUSTERSET_MISMATCH' });
    const m = await startMembership({ ...deps, clusterId: 'east' });
    await m.leave();
    expect(await kube.api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTERSET })).toBeNull();
    expect((await kube.api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTER_ID }))?.spec.value).toBe('east');
    await client.close();
  });

  it('marks an export without a Service NoService, and an ExternalName Service InvalidServiceType', async () => {
    agent = await startAgent();
    const ns = await namespace();
    await createServiceExport(ns, 'orphan');
    await waitFor(async () => (await condition(ns, 'orphan', 'Valid'))?.reason === 'NoService', { what: 'Valid=False NoService', timeoutMs: 20_000 });
    expect(await condition(ns, 'orphan', 'Valid')).toMatchObject({ status: 'False' });

    await lab.cluster(0).client(CoreV1Api).createNamespacedService({ namespace: ns, body: { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } } });
    await createServiceExport(ns, 'ext');
    await waitFor(async () => (await condition(ns, 'ext', 'Valid'))?.reason === 'InvalidServiceType', { what: 'Valid=False InvalidServiceType', timeoutMs: 20_000 });
    expect((await brokerExports()).filter((e) => e.namespace === ns)).toEqual([]);
  });

  it('publishes ready endpoints, follows endpoint churn, and withdraws on delete', async () => {
    agent = await startAgent();
    const ns = await namespace();
    const core = lab.cluster(0).client(CoreV1Api);
    const discovery = lab.cluster(0).client(DiscoveryV1Api);
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'cart' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } });
    await discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice(ns, 'cart', 'cart-a', [
      { addresses: ['10.1.0.1'], conditions: { ready: true }, nodeName: 'n1', zone: 'z1' },
      { addresses: ['10.1.0.2'], conditions: { ready: false } },
    ]) });
    await createServiceExport(ns, 'cart');

    const published = await waitFor(async () => (await brokerExports()).find((e) => e.namespace === ns && e.name === 'cart'), { what: 'export at the broker', timeoutMs: 20_000 });
    expect(published).toMatchObject({
      cluster: 'east', type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'n1', zone: 'z1' }],
      endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }], annotations: { 'plexus.io/dns-ttl': '5' },
    });
    await waitFor(async () => (await condition(ns, 'cart', 'Ready'))?.reason === 'Exported', { what: 'Ready=True Exported', timeoutMs: 20_000 });
    expect(await condition(ns, 'cart', 'Valid')).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(await condition(ns, 'cart', 'Conflict')).toMatchObject({ status: 'False', reason: 'NoConflicts' });

    await discovery.replaceNamespacedEndpointSlice({ namespace: ns, name: 'cart-a', body: slice(ns, 'cart', 'cart-a', [
      { addresses: ['10.1.0.1'], conditions: { ready: true }, nodeName: 'n1', zone: 'z1' },
      { addresses: ['10.1.0.2'], conditions: { ready: true } },
    ]) });
    await discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice(ns, 'cart', 'cart-b', [{ addresses: ['10.1.0.3'] }]) });
    await waitFor(async () => (await brokerExports()).find((e) => e.namespace === ns)?.endpoints.length === 3, { what: 'three endpoints at the broker', timeoutMs: 20_000 });
    await discovery.deleteNamespacedEndpointSlice({ namespace: ns, name: 'cart-a' });
    await waitFor(async () => {
      const e = (await brokerExports()).find((x) => x.namespace === ns);
      return e?.endpoints.length === 1 && e.endpoints[0]!.addresses[0] === '10.1.0.3';
    }, { what: 'churned endpoints at the broker', timeoutMs: 20_000 });

    await lab.cluster(0).client(CustomObjectsApi).deleteNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name: 'cart' });
    await waitFor(async () => !(await brokerExports()).some((e) => e.namespace === ns), { what: 'export withdrawn', timeoutMs: 20_000 });
  });

  it('withdraws exports deleted while the agent was down, and republishes the rest once', async () => {
    agent = await startAgent();
    const ns = await namespace();
    const core = lab.cluster(0).client(CoreV1Api);
    for (const name of ['keep', 'drop']) {
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { ports: [{ port: 80 }] } } });
      await createServiceExport(ns, name);
    }
    await waitFor(async () => (await brokerExports()).filter((e) => e.namespace === ns).length === 2, { what: 'both exports at the broker', timeoutMs: 20_000 });
    await agent.stop();
    agent = undefined;

    await lab.cluster(0).client(CustomObjectsApi).deleteNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name: 'drop' });
    await core.deleteNamespacedService({ namespace: ns, name: 'keep' });
    await core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'keep' }, spec: { ports: [{ port: 81 }] } } });
    agent = await startAgent();
    const after = (await brokerExports()).filter((e) => e.namespace === ns);
    expect(after.map((e) => e.name)).toEqual(['keep']);
    expect(after[0]!.ports).toEqual([{ protocol: 'TCP', port: 81 }]);
  });

  it('raises Conflict against an older export of another cluster, and clears it when that cluster withdraws', async () => {
    const west = (await joinCluster(broker, 'west')).identity;
    agent = await startAgent('east');
    const ns = await namespace();
    const westExport = {
      cluster: 'west', namespace: ns, name: 'pay', createdAt: '2020-01-01T00:00:00Z', type: 'Headless',
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [{ addresses: ['10.9.0.1'] }],
    };
    const put = await broker.call(catalogPaths.export(ns, 'pay'), { method: 'PUT', body: westExport, identity: west });
    expect(put.status).toBe(200);
    await lab.cluster(0).client(CoreV1Api).createNamespacedService({ namespace: ns, body: { metadata: { name: 'pay' }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    await createServiceExport(ns, 'pay');
    await waitFor(async () => (await condition(ns, 'pay', 'Conflict'))?.status === 'True', { what: 'Conflict=True from the write response', timeoutMs: 20_000 });
    expect((await condition(ns, 'pay', 'Conflict'))!.reason).toContain('TypeConflict');

    const del = await broker.call(catalogPaths.export(ns, 'pay'), { method: 'DELETE', identity: west });
    expect(del.status).toBe(200);
    await waitFor(async () => (await condition(ns, 'pay', 'Conflict'))?.reason === 'NoConflicts', { what: 'Conflict=False after the merged service changed', timeoutMs: 20_000 });
  });
});
