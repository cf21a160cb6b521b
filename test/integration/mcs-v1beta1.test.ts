// The MCS API as the upstream conformance suite (mcs-api conformance v0.5.0) sees it, on
// real kube-apiservers with the real CRDs and two real in-process agents joined to a real
// broker: the v1beta1 resources (kubectl get/explain/server-side apply, v1alpha1 still
// served), the fields added in v1beta1 (ipFamilies, internalTrafficPolicy,
// trafficDistribution, exportedLabels/exportedAnnotations, status.conditions) and the
// conflict rules (Conflict=True on every export involved, exact port match). The objects
// mirror the suite's: a "hello" Service with tcp/42 and udp/42, ClientIP affinity (10 s)
// and PreferDualStack. "east" is IPv4-only, "west" is dual-stack; east exports first.
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type V1Service } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedServiceName } from '../../agent/controllers/service-import/import-names.ts';
import { MCS_GROUP, MCS_LEGACY_VERSION, MCS_VERSION, type ServiceImport } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { dig, rdata } from '../e2e/support/dig.ts';
import { startTestAgent, type TestAgent } from './support/agent-fixture.ts';
import { startTestBroker, type TestBroker } from './support/broker-fixture.ts';

interface Condition { type: string; status: string; reason: string; message: string }
type Import = ServiceImport & { status?: { conditions?: Condition[] } };

const HELLO_PORTS = [{ name: 'tcp', port: 42, protocol: 'TCP' }, { name: 'udp', port: 42, protocol: 'UDP' }];

function hello(o: Partial<NonNullable<V1Service['spec']>> = {}): V1Service {
  return {
    metadata: { name: 'hello', labels: { 'dummy-svc': 'dummy' }, annotations: { 'dummy-svc': 'dummy' } },
    spec: {
      selector: { app: 'hello' }, ports: HELLO_PORTS.map((p) => ({ ...p })),
      sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } }, ipFamilyPolicy: 'PreferDualStack', ...o,
    },
  };
}

/** West is dual-stack: its copy of hello is single-stack IPv4 like east's, unless a test is about IP families. */
const westHello = (o: Partial<NonNullable<V1Service['spec']>> = {}) => hello({ ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ...o });

describe('MCS API v1beta1 (conformance-shaped, two clusters with real agents)', () => {
  const lab = useClusters(2, { names: ['east', 'west'], serviceCidrs: ['10.96.0.0/16', '10.97.0.0/16,fd00:10:97::/108'] });
  let broker: TestBroker;
  const agents: TestAgent[] = [];
  let nsCounter = 0;
  const c = (name: 'east' | 'west') => lab.cluster(name);
  const custom = (name: 'east' | 'west') => c(name).client(CustomObjectsApi);

  beforeAll(async () => {
    broker = await startTestBroker({ config: { watchBookmarkIntervalMs: 1_000 } });
    for (const name of ['east', 'west'] as const) agents.push(await startTestAgent(broker, c(name), name));
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await broker?.stop();
  });

  async function namespace(): Promise<string> {
    const ns = `mcs-${++nsCounter}`;
    for (const name of ['east', 'west'] as const) await c(name).client(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    return ns;
  }
  const createService = (cluster: 'east' | 'west', ns: string, svc: V1Service) =>
    c(cluster).client(CoreV1Api).createNamespacedService({ namespace: ns, body: svc });
  const createExport = (cluster: 'east' | 'west', ns: string, spec: Record<string, unknown> = {}, name = 'hello') =>
    custom(cluster).createNamespacedCustomObject({
      group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports',
      body: { apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name, labels: { 'dummy-svcexport': 'dummy' }, annotations: { 'dummy-svcexport': 'dummy' } }, spec },
    });
  async function serviceImport(cluster: 'east' | 'west', ns: string, name = 'hello'): Promise<Import | undefined> {
    try {
      return await custom(cluster).getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceimports', name }) as Import;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }
  async function exportCondition(cluster: 'east' | 'west', ns: string, type: string, name = 'hello'): Promise<Condition | undefined> {
    const se = await custom(cluster).getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name }) as { status?: { conditions?: Condition[] } };
    return se.status?.conditions?.find((x) => x.type === type);
  }
  const conflictOn = (cluster: 'east' | 'west', ns: string, name = 'hello') =>
    waitFor(async () => {
      const x = await exportCondition(cluster, ns, 'Conflict', name);
      return x?.status === 'True' ? x : undefined;
    }, { what: `Conflict=True on ${cluster}'s export ${ns}/${name}`, timeoutMs: 20_000 });
  const derived = async (cluster: 'east' | 'west', ns: string, name = 'hello') =>
    (await c(cluster).client(CoreV1Api).readNamespacedService({ namespace: ns, name: derivedServiceName(ns, name) }));

  it('serves ServiceExport and ServiceImport as v1beta1 and v1alpha1: kubectl get (short names), explain and server-side apply', async () => {
    const ns = await namespace();
    const kubectl = async (args: string[], input?: string) => {
      const r = await c('east').kubectl(args, input === undefined ? {} : { input });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    for (const version of [MCS_VERSION, MCS_LEGACY_VERSION]) {
      const explained = await kubectl(['explain', 'serviceimports.spec', '--api-version', `${MCS_GROUP}/${version}`]);
      for (const field of ['ipFamilies', 'internalTrafficPolicy', 'trafficDistribution', 'ips', 'ports']) expect(explained).toContain(field);
      expect(await kubectl(['explain', 'serviceexports.spec', '--api-version', `${MCS_GROUP}/${version}`])).toMatch(/exportedLabels[\s\S]*exportedAnnotations|exportedAnnotations[\s\S]*exportedLabels/);
      expect(await kubectl(['explain', 'serviceimports.status.conditions', '--api-version', `${MCS_GROUP}/${version}`])).toContain('lastTransitionTime');
    }
    // An object applied as v1alpha1 (server-side) is the same object under v1beta1, spec fields and all.
    const legacy = JSON.stringify({ apiVersion: `${MCS_GROUP}/${MCS_LEGACY_VERSION}`, kind: 'ServiceExport', metadata: { name: 'legacy', namespace: ns }, spec: { exportedLabels: { tier: 'web' } } });
    await kubectl(['apply', '--server-side', '--field-manager', 'it', '-f', '-'], legacy);
    const asBeta = JSON.parse(await kubectl(['get', `serviceexports.${MCS_VERSION}.${MCS_GROUP}`, 'legacy', '-n', ns, '-o', 'json'])) as { apiVersion: string; spec: unknown };
    expect(asBeta).toMatchObject({ apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, spec: { exportedLabels: { tier: 'web' } } });
    const current = JSON.stringify({ apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name: 'legacy', namespace: ns }, spec: { exportedLabels: { tier: 'api' } } });
    await kubectl(['apply', '--server-side', '--field-manager', 'it', '-f', '-'], current);
    const asAlpha = JSON.parse(await kubectl(['get', `serviceexports.${MCS_LEGACY_VERSION}.${MCS_GROUP}`, 'legacy', '-n', ns, '-o', 'json'])) as { apiVersion: string; spec: unknown };
    expect(asAlpha).toMatchObject({ apiVersion: `${MCS_GROUP}/${MCS_LEGACY_VERSION}`, spec: { exportedLabels: { tier: 'api' } } });
    for (const short of ['svcex', 'svcexport']) expect(await kubectl(['get', short, '-n', ns, '-o', 'name'])).toContain('legacy');
    // The API server refuses what the schema does not allow, in either version.
    const bad = JSON.stringify({ apiVersion: `${MCS_GROUP}/${MCS_LEGACY_VERSION}`, kind: 'ServiceImport', metadata: { name: 'bad', namespace: ns }, spec: { type: 'ClusterSetIP', ports: [], ipFamilies: ['IPv5'] } });
    const refused = await c('east').kubectl(['apply', '--server-side', '-f', '-'], { input: bad });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ipFamilies');
  });

  it('imports the v1beta1 fields: ipFamilies per IP, internalTrafficPolicy, trafficDistribution, affinity, only the exported labels and annotations, Ready=True', async () => {
    const ns = await namespace();
    await createService('east', ns, hello({ internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose' }));
    await createExport('east', ns, { exportedLabels: { 'dummy-label': 'true' }, exportedAnnotations: { 'dummy-annotation': 'true' } });
    for (const cluster of ['east', 'west'] as const) {
      const si = await waitFor(async () => {
        const s = await serviceImport(cluster, ns);
        return s?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? s : undefined;
      }, { what: `ServiceImport in ${cluster} Ready`, timeoutMs: 20_000 });
      expect(si.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ reason: 'Ready' });
      expect(si.spec).toMatchObject({
        type: 'ClusterSetIP', internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose',
        sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
      });
      expect([...si.spec.ports].sort((a, b) => a.name!.localeCompare(b.name!))).toEqual(HELLO_PORTS);
      // East's Service is IPv4 only (east is single-stack), so both clusters import one IPv4 clusterset IP.
      expect(si.spec.ips).toHaveLength(si.spec.ipFamilies!.length);
      expect(si.spec.ipFamilies).toEqual(['IPv4']);
      expect(isIPv4(si.spec.ips![0]!)).toBe(true);
      expect(si.metadata!.labels).toMatchObject({ 'dummy-label': 'true' });
      expect(si.metadata!.annotations).toMatchObject({ 'dummy-annotation': 'true' });
      expect(si.metadata!.labels).not.toHaveProperty('dummy-svc');
      expect(si.metadata!.labels).not.toHaveProperty('dummy-svcexport');
      expect(si.metadata!.annotations).not.toHaveProperty('dummy-svc');
      expect(si.metadata!.annotations).not.toHaveProperty('dummy-svcexport');
      // The derived Service agrees with the ServiceImport on trafficDistribution, and holds its clusterset IP.
      const svc = await derived(cluster, ns);
      expect(svc.spec?.trafficDistribution).toBe(si.spec.trafficDistribution);
      expect(svc.spec?.clusterIPs).toContain(si.spec.ips![0]);
    }
    expect(await exportCondition('east', ns, 'Conflict')).toMatchObject({ status: 'False', reason: 'NoConflicts' });
  });

  it('a dual-stack cluster gets both families, a single-stack one the family it serves; an unservable family is Ready=False IPFamilyNotSupported', async () => {
    const ns = await namespace();
    await createService('west', ns, hello({ ipFamilyPolicy: 'RequireDualStack' }));
    await createExport('west', ns);
    const dual = await waitFor(async () => {
      const s = await serviceImport('west', ns);
      return s?.spec.ips?.length === 2 ? s : undefined;
    }, { what: 'dual-stack import in west', timeoutMs: 20_000 });
    expect([...dual.spec.ipFamilies!].sort()).toEqual(['IPv4', 'IPv6']);
    dual.spec.ips!.forEach((ip, i) => expect(isIPv4(ip) ? 'IPv4' : 'IPv6').toBe(dual.spec.ipFamilies![i]));
    const single = await waitFor(async () => (await serviceImport('east', ns))?.spec.ips?.length === 1 && serviceImport('east', ns), { what: 'IPv4 import in east', timeoutMs: 20_000 });
    expect(single!.spec.ipFamilies).toEqual(['IPv4']);
    // East exporting the same service single-stack: IPFamilyConflict on both, the oldest (west, dual-stack) decides.
    // Creation timestamps have seconds precision and ties go to the lower cluster ID (east): export a second later.
    const westExport = await custom('west').getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name: 'hello' }) as { metadata: { creationTimestamp: string } };
    await waitFor(async () => Date.now() >= Date.parse(westExport.metadata.creationTimestamp) + 1_000, { what: 'a second past west\'s export', timeoutMs: 20_000 });
    await createService('east', ns, hello());
    await createExport('east', ns);
    for (const cluster of ['east', 'west'] as const) expect((await conflictOn(cluster, ns)).reason).toBe('IPFamilyConflict');
    expect((await serviceImport('west', ns))!.spec.ips).toHaveLength(2);

    await createService('west', ns, { ...hello({ ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] }), metadata: { name: 'six' } });
    await createExport('west', ns, {}, 'six');
    const six = await waitFor(async () => (await serviceImport('west', ns, 'six'))?.spec.ips?.length === 1 && serviceImport('west', ns, 'six'), { what: 'IPv6-only import in west', timeoutMs: 20_000 });
    expect(six!.spec.ipFamilies).toEqual(['IPv6']);
    const unsupported = await waitFor(async () => {
      const s = await serviceImport('east', ns, 'six');
      return s?.status?.conditions?.find((x) => x.type === 'Ready' && x.reason === 'IPFamilyNotSupported') ? s : undefined;
    }, { what: 'IPFamilyNotSupported in IPv4-only east', timeoutMs: 20_000 });
    expect(unsupported.spec.ips).toBeUndefined();
    expect(unsupported.status!.conditions!.find((x) => x.type === 'Ready')!.status).toBe('False');
  });

  it('conflicting exported labels and annotations: the oldest export\'s are used, Conflict=True on each ServiceExport', async () => {
    const ns = await namespace();
    await createService('east', ns, hello());
    await createExport('east', ns, { exportedLabels: { 'dummy-label': 'true' }, exportedAnnotations: { 'dummy-annotation': 'true' } });
    await waitFor(async () => serviceImport('east', ns), { what: 'import in east', timeoutMs: 20_000 });
    await createService('west', ns, westHello());
    await createExport('west', ns, { exportedLabels: { 'dummy-label2': 'true' }, exportedAnnotations: { 'dummy-annotation2': 'true' } });
    for (const cluster of ['east', 'west'] as const) {
      expect((await conflictOn(cluster, ns)).reason).toBe('LabelsConflict,AnnotationsConflict');
    }
    const si = (await serviceImport('east', ns))!;
    expect(si.metadata!.labels).toMatchObject({ 'dummy-label': 'true' });
    expect(si.metadata!.labels).not.toHaveProperty('dummy-label2');
    expect(si.metadata!.annotations).toMatchObject({ 'dummy-annotation': 'true' });
    expect(si.metadata!.annotations).not.toHaveProperty('dummy-annotation2');
  });

  it('differing ports: the union is imported and Conflict=True (PortConflict) on each export; a conflicting port number keeps the oldest', async () => {
    const ns = await namespace();
    await createService('east', ns, hello());
    await createExport('east', ns);
    await waitFor(async () => serviceImport('east', ns), { what: 'import in east', timeoutMs: 20_000 });
    await createService('west', ns, westHello({ ports: [{ name: 'tcp', port: 42, protocol: 'TCP' }, { name: 'stcp', port: 142, protocol: 'SCTP' }] }));
    await createExport('west', ns);
    for (const cluster of ['east', 'west'] as const) expect((await conflictOn(cluster, ns)).reason).toBe('PortConflict');
    const union = await waitFor(async () => {
      const s = await serviceImport('east', ns);
      return s?.spec.ports.length === 3 ? s : undefined;
    }, { what: 'union of ports', timeoutMs: 20_000 });
    expect([...union.spec.ports].sort((a, b) => a.name!.localeCompare(b.name!))).toEqual([
      { name: 'stcp', port: 142, protocol: 'SCTP' }, ...HELLO_PORTS,
    ]);

    await createService('east', ns, { ...hello({ ports: [{ name: 'tcp', port: 42, protocol: 'TCP' }] }), metadata: { name: 'num' } });
    await createExport('east', ns, {}, 'num');
    await waitFor(async () => serviceImport('east', ns, 'num'), { what: 'import of num in east', timeoutMs: 20_000 });
    await createService('west', ns, { ...westHello({ ports: [{ name: 'tcp', port: 43, protocol: 'TCP' }] }), metadata: { name: 'num' } });
    await createExport('west', ns, {}, 'num');
    for (const cluster of ['east', 'west'] as const) expect((await conflictOn(cluster, ns, 'num')).reason).toBe('PortConflict');
    expect((await serviceImport('west', ns, 'num'))!.spec.ports).toEqual([{ name: 'tcp', port: 42, protocol: 'TCP' }]);
  });

  it('an unnamed port in one export and a named one in another: PortConflict on both, and the derived Service is accepted by the API server', async () => {
    const ns = await namespace();
    await createService('east', ns, { ...hello({ ports: [{ port: 80, protocol: 'TCP' }] }), metadata: { name: 'mix' } });
    await createExport('east', ns, {}, 'mix');
    await waitFor(async () => ((await serviceImport('west', ns, 'mix'))?.spec.ips?.length ?? 0) > 0, { what: 'import of mix in west', timeoutMs: 20_000 });
    await createService('west', ns, { ...westHello({ ports: [{ name: 'metrics', port: 9090, protocol: 'TCP' }] }), metadata: { name: 'mix' } });
    await createExport('west', ns, {}, 'mix');
    for (const cluster of ['east', 'west'] as const) expect((await conflictOn(cluster, ns, 'mix')).reason).toBe('PortConflict');
    for (const cluster of ['east', 'west'] as const) {
      const svc = await derived(cluster, ns, 'mix');
      expect(svc.spec?.ports?.map((p) => [p.name ?? '', p.port])).toEqual([['', 80]]);
      expect((await serviceImport(cluster, ns, 'mix'))!.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    }
  });

  it('conflicting headlessness, internalTrafficPolicy and trafficDistribution: Conflict=True on each export with every reason, the oldest decides', async () => {
    const ns = await namespace();
    await createService('east', ns, hello({ internalTrafficPolicy: 'Cluster' }));
    await createExport('east', ns);
    await waitFor(async () => serviceImport('east', ns), { what: 'import in east', timeoutMs: 20_000 });
    await createService('west', ns, westHello({ clusterIP: 'None', internalTrafficPolicy: 'Local', trafficDistribution: 'PreferClose' }));
    await createExport('west', ns);
    for (const cluster of ['east', 'west'] as const) {
      expect((await conflictOn(cluster, ns)).reason).toBe('TypeConflict,InternalTrafficPolicyConflict,TrafficDistributionConflict');
    }
    for (const cluster of ['east', 'west'] as const) {
      const si = (await serviceImport(cluster, ns))!;
      expect(si.spec).toMatchObject({ type: 'ClusterSetIP', internalTrafficPolicy: 'Cluster' });
    }
  });

  it('selector-less Services, ClusterIP first then headless: TypeConflict alone on each export', async () => {
    const ns = await namespace();
    // West is dual-stack: a selector-less headless Service there defaults to both families (then IPFamilyConflict too), so pin IPv4.
    const bare = (clusterIP?: string): V1Service => ({ metadata: { name: 'pay' }, spec: {
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }], ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ...(clusterIP ? { clusterIP } : {}),
    } });
    await createService('east', ns, bare());
    await createExport('east', ns, {}, 'pay');
    await waitFor(async () => ((await serviceImport('west', ns, 'pay'))?.spec.ips?.length ?? 0) > 0, { what: 'import of pay in west', timeoutMs: 20_000 });
    await createService('west', ns, bare('None'));
    await createExport('west', ns, {}, 'pay');
    for (const cluster of ['west', 'east'] as const) expect((await conflictOn(cluster, ns, 'pay')).reason).toBe('TypeConflict');
  });

  it('a headless import carries the exporters\' IP families and no IPs', async () => {
    const ns = await namespace();
    await createService('east', ns, hello({ clusterIP: 'None' }));
    await createExport('east', ns);
    for (const cluster of ['east', 'west'] as const) {
      const si = await waitFor(async () => {
        const s = await serviceImport(cluster, ns);
        return s?.status?.conditions?.length ? s : undefined;
      }, { what: `headless import in ${cluster}`, timeoutMs: 20_000 });
      expect(si.spec.type).toBe('Headless');
      expect(si.spec.ips).toBeUndefined();
      expect(si.spec.ipFamilies).toEqual(['IPv4']);
      expect(si.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    }
  });

  /** A headless Service in west (dual-stack) with one ready endpoint per address, as the EndpointSlice controller would write them. */
  async function westHeadless(ns: string, name: string, families: ('IPv4' | 'IPv6')[], addresses: Record<'IPv4' | 'IPv6', string>): Promise<void> {
    await createService('west', ns, { metadata: { name }, spec: {
      clusterIP: 'None', selector: { app: name }, ports: [{ name: 'tcp', port: 42, protocol: 'TCP' }],
      ipFamilyPolicy: families.length === 2 ? 'RequireDualStack' : 'SingleStack', ipFamilies: families,
    } });
    for (const family of families) {
      await c('west').client(DiscoveryV1Api).createNamespacedEndpointSlice({ namespace: ns, body: {
        metadata: { name: `${name}-${family.toLowerCase()}`, labels: { 'kubernetes.io/service-name': name } },
        addressType: family, ports: [{ name: 'tcp', port: 4242, protocol: 'TCP' }],
        endpoints: [{ addresses: [addresses[family]], conditions: { ready: true } }],
      } });
    }
    await createExport('west', ns, {}, name);
  }
  const importedSlices = async (cluster: 'east' | 'west', ns: string, name: string) =>
    (await c(cluster).client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: `multicluster.kubernetes.io/service-name=${name}` })).items;
  const agentDig = (cluster: 'east' | 'west', args: string[]) => {
    const { host, port } = agents[cluster === 'east' ? 0 : 1]!.agent.dns;
    return dig(host, port, args);
  };
  const answers = (cluster: 'east' | 'west', fqdn: string, type: string, want: string[]) =>
    waitFor(async () => JSON.stringify(rdata(await agentDig(cluster, [fqdn, type]))) === JSON.stringify(want), {
      what: `${type} ${fqdn} from ${cluster}'s agent = [${want.join(', ')}]`, timeoutMs: 20_000,
    });

  it('a headless import of IPv6-only exporters in an IPv4-only cluster was Ready: now Ready=False IPFamilyNotSupported, no IPv6 slice and no AAAA answer there', async () => {
    const ns = await namespace();
    await westHeadless(ns, 'six', ['IPv6'], { IPv4: '', IPv6: 'fd00:10:97::1:6' });
    const home = await waitFor(async () => {
      const s = await serviceImport('west', ns, 'six');
      return s?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? s : undefined;
    }, { what: 'Ready headless IPv6 import in dual-stack west', timeoutMs: 20_000 });
    expect(home.spec.ipFamilies).toEqual(['IPv6']);
    const unsupported = await waitFor(async () => {
      const s = await serviceImport('east', ns, 'six');
      return s?.status?.conditions?.find((x) => x.type === 'Ready' && x.reason === 'IPFamilyNotSupported') ? s : undefined;
    }, { what: 'IPFamilyNotSupported for the headless IPv6 import in IPv4-only east', timeoutMs: 20_000 });
    expect(unsupported.spec.type).toBe('Headless');
    expect(unsupported.spec.ipFamilies).toBeUndefined();
    const ready = unsupported.status!.conditions!.find((x) => x.type === 'Ready')!;
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('IPv6');
    expect(await importedSlices('east', ns, 'six')).toEqual([]);
    expect((await importedSlices('west', ns, 'six')).map((s) => s.addressType)).toEqual(['IPv6']);
    const fqdn = `six.${ns}.svc.clusterset.local`;
    await answers('west', fqdn, 'AAAA', ['fd00:10:97::1:6']);
    // The agent's DNS follows the import (its informer may be a moment behind the API server).
    await answers('east', fqdn, 'AAAA', []);
  });

  it('a dual-stack headless export in an IPv4-only cluster: Ready, ipFamilies IPv4, only the IPv4 slice and A answers (as ClusterSetIP keeps only the served family)', async () => {
    const ns = await namespace();
    await westHeadless(ns, 'both', ['IPv4', 'IPv6'], { IPv4: '10.244.1.7', IPv6: 'fd00:10:97::1:7' });
    const east = await waitFor(async () => {
      const s = await serviceImport('east', ns, 'both');
      return s?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? s : undefined;
    }, { what: 'Ready dual-stack headless import in IPv4-only east', timeoutMs: 20_000 });
    expect(east.spec.ipFamilies).toEqual(['IPv4']);
    await waitFor(async () => (await importedSlices('east', ns, 'both')).length > 0, { what: 'imported slices in east', timeoutMs: 20_000 });
    expect((await importedSlices('east', ns, 'both')).map((s) => s.addressType)).toEqual(['IPv4']);
    const west = await waitFor(async () => {
      const s = await serviceImport('west', ns, 'both');
      return s?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ? s : undefined;
    }, { what: 'Ready dual-stack headless import in west', timeoutMs: 20_000 });
    expect(west.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    const fqdn = `both.${ns}.svc.clusterset.local`;
    await answers('east', fqdn, 'A', ['10.244.1.7']);
    expect(rdata(await agentDig('east', [fqdn, 'AAAA']))).toEqual([]);
    await answers('west', fqdn, 'AAAA', ['fd00:10:97::1:7']);
  });
});
