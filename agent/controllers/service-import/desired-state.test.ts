import { describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import {
  MAX_ENDPOINTS_PER_SLICE, NO_ADDRESSING, importAddressing, readyCondition, desiredDerivedService, desiredEndpointSlices, desiredImportStatus, desiredServiceImport,
  type ImportInputs,
} from './desired-state.ts';
import { derivedServiceName, endpointSliceName } from './import-names.ts';

const owner = { name: 'web', uid: 'uid-1' };

function merged(o: Partial<MergedService> = {}): MergedService {
  return {
    namespace: 'shop', name: 'web', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
    members: [
      { cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'west', createdAt: '2026-01-02T00:00:00Z', conflicts: [], excluded: false },
    ],
    ...o,
  };
}

function record(cluster: string, addresses: string[][], o: Partial<ExportRecord> = {}): ExportRecord {
  return {
    cluster, namespace: 'shop', name: 'web', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }], clusterIPs: [], sessionAffinity: 'None',
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: addresses.map((a, i) => ({ addresses: a, hostname: `pod-${i}`, zone: 'z1', nodeName: 'node-1' })),
    annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1, ...o,
  };
}

const inputs = (service: MergedService, exports: ExportRecord[], down: string[] = []): ImportInputs =>
  ({ service, exports, isAvailable: (c) => !down.includes(c) });

describe('desiredImportStatus', () => {
  it('lists the source clusters (agent/catalog/source-clusters.ts): available, non-excluded members that have an export, sorted', () => {
    const s = merged({ members: [
      { cluster: 'west', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'east', createdAt: '2026-01-02T00:00:00Z', conflicts: ['TypeConflict'], excluded: true },
      { cluster: 'north', createdAt: '2026-01-03T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'south', createdAt: '2026-01-04T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'alpha', createdAt: '2026-01-05T00:00:00Z', conflicts: ['PortConflict'], excluded: false },
    ] });
    const exps = ['west', 'east', 'north', 'alpha'].map((c) => record(c, [['10.0.0.1']]));
    expect(desiredImportStatus(inputs(s, exps, ['north']))).toEqual({ clusters: [{ cluster: 'alpha' }, { cluster: 'west' }] });
  });
});

describe('desiredServiceImport', () => {
  it('carries type, ports, session affinity and the derived ClusterIPs', () => {
    const s = merged({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
    const si = desiredServiceImport(s, { addressing: { ips: ['10.96.0.10'], ipFamilies: ['IPv4'], unsupported: false } });
    expect(si).toMatchObject({
      apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceImport',
      metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': 'web' } },
      spec: { type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], ips: ['10.96.0.10'], ipFamilies: ['IPv4'], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
    });
  });

  it('has no ips for a Headless import or before the derived Service has one', () => {
    const v4 = { ips: ['10.96.0.10'], ipFamilies: ['IPv4'] as const, unsupported: false };
    expect(desiredServiceImport(merged({ type: 'Headless' }), { addressing: { ...v4, ipFamilies: [...v4.ipFamilies] } }).spec.ips).toBeUndefined();
    expect(desiredServiceImport(merged()).spec.ips).toBeUndefined();
  });

  it('carries internalTrafficPolicy and the given trafficDistribution (mcs-api v1beta1)', () => {
    const si = desiredServiceImport(merged({ internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose' }), { trafficDistribution: 'PreferClose' });
    expect(si.spec).toMatchObject({ internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose' });
    expect(desiredServiceImport(merged()).spec.internalTrafficPolicy).toBeUndefined();
  });

  it('puts the exported labels and annotations on the ServiceImport; Plexus\'s own keys win', () => {
    const si = desiredServiceImport(merged({
      exportedLabels: { 'dummy-label': 'true', 'app.kubernetes.io/managed-by': 'someone-else' },
      exportedAnnotations: { 'dummy-annotation': 'true', 'plexus.io/ranking': 'forged' },
    }), { annotations: { 'plexus.io/ranking': '{"policy":"nearest"}' } });
    expect(si.metadata.labels).toEqual({ 'dummy-label': 'true', 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': 'web' });
    expect(si.metadata.annotations).toEqual({ 'dummy-annotation': 'true', 'plexus.io/ranking': '{"policy":"nearest"}' });
    expect(desiredServiceImport(merged()).metadata.annotations).toBeUndefined();
  });
});

describe('importAddressing (ipFamilies, one per entry of ips)', () => {
  const derived = (clusterIPs: string[]) => ({ spec: { clusterIP: clusterIPs[0], clusterIPs } });

  it('dual-stack cluster, dual-stack exporters: both IPs, families in the Service\'s order', () => {
    const a = importAddressing(inputs(merged({ ipFamilies: ['IPv4', 'IPv6'] }), []), derived(['fd00::10', '10.96.0.10']));
    expect(a).toEqual({ ips: ['fd00::10', '10.96.0.10'], ipFamilies: ['IPv6', 'IPv4'], unsupported: false });
  });

  it('dual-stack cluster, IPv4-only exporters: only the IPv4 clusterset IP', () => {
    expect(importAddressing(inputs(merged({ ipFamilies: ['IPv4'] }), []), derived(['10.96.0.10', 'fd00::10'])))
      .toEqual({ ips: ['10.96.0.10'], ipFamilies: ['IPv4'], unsupported: false });
  });

  it('an IPv4-only cluster cannot serve IPv6-only exporters: unsupported, Ready=False IPFamilyNotSupported', () => {
    const i = inputs(merged({ ipFamilies: ['IPv6'] }), [record('east', [['fd00::1']])]);
    const a = importAddressing(i, derived(['10.96.0.10']));
    expect(a).toEqual({ ips: [], ipFamilies: [], unsupported: true });
    expect(readyCondition(i, a)).toMatchObject({ type: 'Ready', status: 'False', reason: 'IPFamilyNotSupported' });
  });

  it('exporters that name no family (older agents) accept every family the cluster serves', () => {
    expect(importAddressing(inputs(merged(), []), derived(['10.96.0.10'])).ipFamilies).toEqual(['IPv4']);
  });

  it('Headless: no IPs, the exporters\' families, else the families of their endpoints', () => {
    expect(importAddressing(inputs(merged({ type: 'Headless', ipFamilies: ['IPv4'] }), []), undefined)).toEqual({ ips: [], ipFamilies: ['IPv4'], unsupported: false });
    const old = inputs(merged({ type: 'Headless' }), [record('east', [['fd00::1'], ['10.1.0.1']])]);
    expect(importAddressing(old, undefined).ipFamilies).toEqual(['IPv4', 'IPv6']);
  });
});

describe('a Headless import and the IP families this cluster serves', () => {
  const headless = (ipFamilies: MergedService['ipFamilies'], addresses: string[][]) =>
    inputs(merged({ type: 'Headless', ipFamilies }), [record('east', addresses, { type: 'Headless' })]);

  it('IPv6-only exporters in an IPv4-only cluster were Ready: now unsupported, Ready=False IPFamilyNotSupported naming IPv6', () => {
    const i = headless(['IPv6'], [['fd00::1']]);
    const a = importAddressing(i, undefined, ['IPv4']);
    expect(a).toEqual({ ips: [], ipFamilies: [], unsupported: true });
    const ready = readyCondition(i, a);
    expect(ready).toMatchObject({ type: 'Ready', status: 'False', reason: 'IPFamilyNotSupported' });
    expect(ready.message).toContain('IPv6');
    expect(desiredServiceImport(i.service, { addressing: a }).spec.ipFamilies).toBeUndefined();
  });

  it('exporters that name no family (older agents) count by their endpoints\' addresses', () => {
    const i = headless([], [['fd00::1'], ['fd00::2']]);
    expect(importAddressing(i, undefined, ['IPv4']).unsupported).toBe(true);
    expect(importAddressing(headless([], []), undefined, ['IPv4'])).toEqual({ ips: [], ipFamilies: [], unsupported: false });
  });

  it('dual-stack exporters in an IPv4-only cluster: Ready, only IPv4 in ipFamilies and in the slices (as ClusterSetIP keeps only the served family)', () => {
    const i = headless(['IPv4', 'IPv6'], [['10.1.0.1', 'fd00::1']]);
    const a = importAddressing(i, undefined, ['IPv4']);
    expect(a).toEqual({ ips: [], ipFamilies: ['IPv4'], unsupported: false });
    expect(readyCondition(i, a)).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(desiredEndpointSlices(i, owner, { served: ['IPv4'] }).map((s) => s.addressType)).toEqual(['IPv4']);
    expect(desiredEndpointSlices(i, owner, { served: ['IPv4', 'IPv6'] }).map((s) => s.addressType)).toEqual(['IPv4', 'IPv6']);
  });

  it('an IPv4-only cluster gets no slice of IPv6-only exporters', () => {
    expect(desiredEndpointSlices(headless(['IPv6'], [['fd00::1']]), owner, { served: ['IPv4'] })).toEqual([]);
  });

  it('served families unknown (the API server could not tell): every exporter family is assumed served, as before', () => {
    const i = headless(['IPv6'], [['fd00::1']]);
    expect(importAddressing(i, undefined, undefined)).toEqual({ ips: [], ipFamilies: ['IPv6'], unsupported: false });
    expect(desiredEndpointSlices(i, owner).map((s) => s.addressType)).toEqual(['IPv6']);
  });

  it('leaves ClusterSetIP slices alone: kube-proxy programs only the derived Service\'s families', () => {
    const i = inputs(merged({ ipFamilies: ['IPv4', 'IPv6'] }), [record('east', [['10.1.0.1', 'fd00::1']])]);
    expect(desiredEndpointSlices(i, owner, { served: ['IPv4'] }).map((s) => s.addressType)).toEqual(['IPv4', 'IPv6']);
  });
});

describe('readyCondition', () => {
  const v4 = { ips: ['10.96.0.10'], ipFamilies: ['IPv4' as const], unsupported: false };
  it('is Ready once the import has its clusterset IP and an available exporter', () => {
    expect(readyCondition(inputs(merged(), [record('east', [['10.1.0.1']])]), v4)).toMatchObject({ status: 'True', reason: 'Ready' });
  });

  it('is Pending without a clusterset IP, or while no exporting cluster is available', () => {
    expect(readyCondition(inputs(merged(), [record('east', [['10.1.0.1']])]), NO_ADDRESSING)).toMatchObject({ status: 'False', reason: 'Pending' });
    expect(readyCondition(inputs(merged(), [record('east', [['10.1.0.1']])], ['east', 'west']), v4)).toMatchObject({ status: 'False', reason: 'Pending' });
  });
});

describe('desiredDerivedService', () => {
  it('is selector-less, Plexus-labelled, owned by the ServiceImport, with the merged ports', () => {
    const svc = desiredDerivedService(merged({ ports: [{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }, { name: 'dns', protocol: 'UDP', port: 53 }] }), owner)!;
    expect(svc.metadata!.name).toBe(derivedServiceName('shop', 'web'));
    expect(svc.spec!.selector).toBeUndefined();
    expect(svc.spec!.type).toBe('ClusterIP');
    expect(svc.spec!.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }, { name: 'dns', protocol: 'UDP', port: 53 }]);
    expect(svc.metadata!.labels).toEqual({ 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': 'web' });
    expect(svc.metadata!.ownerReferences).toEqual([{ apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceImport', name: 'web', uid: 'uid-1', controller: true, blockOwnerDeletion: false }]);
  });

  it('does not exist for Headless imports', () => {
    expect(desiredDerivedService(merged({ type: 'Headless' }), owner)).toBeNull();
  });
});

describe('naming', () => {
  it('is deterministic, at most 63 characters and an RFC-1035 label', () => {
    const long = 'a'.repeat(63);
    const n = derivedServiceName('ns', long);
    expect(n).toBe(derivedServiceName('ns', long));
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(derivedServiceName('shop', 'web')).toMatch(/^plx-web-[0-9a-f]{8}$/);
  });

  it('tells apart names that truncate to the same prefix, and namespaces', () => {
    const a = `${'x'.repeat(55)}a`;
    const b = `${'x'.repeat(55)}b`;
    expect(derivedServiceName('ns', a)).not.toBe(derivedServiceName('ns', b));
    expect(derivedServiceName('ns1', 'web')).not.toBe(derivedServiceName('ns2', 'web'));
    expect(endpointSliceName('ns', a, 'c', 'IPv4', 0)).not.toBe(endpointSliceName('ns', b, 'c', 'IPv4', 0));
    expect(endpointSliceName('ns', 'web', 'c', 'IPv4', 0)).not.toBe(endpointSliceName('ns', 'web', 'c', 'IPv6', 0));
    expect(endpointSliceName('ns', 'a'.repeat(63), 'c'.repeat(63), 'IPv6', 99).length).toBeLessThanOrEqual(253);
  });
});

describe('desiredEndpointSlices', () => {
  it('gives each source cluster its own slice with ready endpoints, hostname, zone and its endpoint ports', () => {
    const slices = desiredEndpointSlices(inputs(merged(), [record('west', [['10.1.0.1']]), record('east', [['10.0.0.1'], ['10.0.0.2']])]), owner);
    expect(slices.map((s) => s.metadata!.name)).toEqual([
      endpointSliceName('shop', 'web', 'east', 'IPv4', 0), endpointSliceName('shop', 'web', 'west', 'IPv4', 0),
    ]);
    const east = slices[0]!;
    expect(east.addressType).toBe('IPv4');
    expect(east.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    expect(east.endpoints).toEqual([
      { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'pod-0', zone: 'z1' },
      { addresses: ['10.0.0.2'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'pod-1', zone: 'z1' },
    ]);
    expect(east.metadata!.labels).toEqual({
      'app.kubernetes.io/managed-by': 'plexus',
      'multicluster.kubernetes.io/service-name': 'web',
      'multicluster.kubernetes.io/source-cluster': 'east',
      'endpointslice.kubernetes.io/managed-by': 'agent.plexus.io',
      'kubernetes.io/service-name': derivedServiceName('shop', 'web'),
    });
    expect(east.metadata!.ownerReferences![0]).toMatchObject({ kind: 'ServiceImport', name: 'web', uid: 'uid-1' });
  });

  it('splits past 100 endpoints', () => {
    const addrs = Array.from({ length: 2 * MAX_ENDPOINTS_PER_SLICE + 1 }, (_, i) => [`10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`]);
    const slices = desiredEndpointSlices(inputs(merged(), [record('east', addrs)]), owner);
    expect(slices.map((s) => s.endpoints!.length)).toEqual([100, 100, 1]);
    expect(slices.map((s) => s.metadata!.name)).toEqual([0, 1, 2].map((i) => endpointSliceName('shop', 'web', 'east', 'IPv4', i)));
    expect(new Set(slices.flatMap((s) => s.endpoints!.map((e) => e.addresses[0]))).size).toBe(201);
  });

  it('splits exactly 100 endpoints into one slice', () => {
    const addrs = Array.from({ length: 100 }, (_, i) => [`10.0.0.${i + 1}`]);
    expect(desiredEndpointSlices(inputs(merged(), [record('east', addrs)]), owner)).toHaveLength(1);
  });

  it('uses one addressType per IP family; a dual-stack endpoint lands in both', () => {
    const slices = desiredEndpointSlices(inputs(merged(), [record('east', [['10.0.0.1', 'fd00::1'], ['fd00::2']])]), owner);
    expect(slices.map((s) => [s.addressType, s.endpoints!.map((e) => e.addresses)])).toEqual([
      ['IPv4', [['10.0.0.1']]],
      ['IPv6', [['fd00::1'], ['fd00::2']]],
    ]);
    expect(slices[1]!.metadata!.name).toBe(endpointSliceName('shop', 'web', 'east', 'IPv6', 0));
  });

  it('gives excluded and unavailable clusters no slices, and clusters without endpoints none either', () => {
    const s = merged({ members: [
      { cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'west', createdAt: '2026-01-02T00:00:00Z', conflicts: ['TypeConflict'], excluded: true },
      { cluster: 'north', createdAt: '2026-01-03T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'south', createdAt: '2026-01-04T00:00:00Z', conflicts: [], excluded: false },
    ] });
    const exps = [record('east', [['10.0.0.1']]), record('west', [['10.0.0.2']]), record('north', [['10.0.0.3']]), record('south', [])];
    const slices = desiredEndpointSlices(inputs(s, exps, ['north']), owner);
    expect(slices.map((x) => x.metadata!.labels!['multicluster.kubernetes.io/source-cluster'])).toEqual(['east']);
  });

  it('leaves kubernetes.io/service-name off Headless slices', () => {
    const slices = desiredEndpointSlices(inputs(merged({ type: 'Headless' }), [record('east', [['10.0.0.1']])]), owner);
    expect(slices[0]!.metadata!.labels!['kubernetes.io/service-name']).toBeUndefined();
  });

  it('is the same for the same inputs in any order (a restart recomputes identical objects)', () => {
    const a = desiredEndpointSlices(inputs(merged(), [record('east', [['10.0.0.1']]), record('west', [['10.1.0.1']])]), owner);
    const b = desiredEndpointSlices(inputs(merged(), [record('west', [['10.1.0.1']]), record('east', [['10.0.0.1']])]), owner);
    expect(a).toEqual(b);
  });
});

describe('desiredEndpointSlices with conflicting ports (strict port match)', () => {
  const tcp42 = { name: 'tcp', protocol: 'TCP' as const, port: 42 };
  it('a source cluster whose port lost a PortConflict contributes no endpoints to that port', () => {
    // Conformance "same port name but different port numbers": c2 exports "tcp" as 4242 (target 42), the oldest c1 as 42.
    const s = merged({ ports: [tcp42], members: [
      { cluster: 'c1', createdAt: '2026-01-01T00:00:00Z', conflicts: ['PortConflict'], excluded: false },
      { cluster: 'c2', createdAt: '2026-01-02T00:00:00Z', conflicts: ['PortConflict'], excluded: false },
    ] });
    const endpointPorts = [{ name: 'tcp', protocol: 'TCP' as const, port: 42 }];
    const slices = desiredEndpointSlices(inputs(s, [
      record('c1', [['10.1.0.1']], { ports: [tcp42], endpointPorts }),
      record('c2', [['10.2.0.1']], { ports: [{ ...tcp42, port: 4242 }], endpointPorts }),
    ]), owner);
    const portsOf = (c: string) => slices.find((x) => x.metadata!.labels!['multicluster.kubernetes.io/source-cluster'] === c)!.ports;
    expect(portsOf('c1')).toEqual(endpointPorts);
    expect(portsOf('c2')).toEqual([]);
  });

  it('ports named differently in each cluster each reach only their own cluster', () => {
    const tcp2 = { name: 'tcp2', protocol: 'TCP' as const, port: 4242 };
    const s = merged({ ports: [tcp42, tcp2] });
    const slices = desiredEndpointSlices(inputs(s, [
      record('east', [['10.1.0.1']], { ports: [tcp42], endpointPorts: [{ name: 'tcp', protocol: 'TCP', port: 42 }] }),
      record('west', [['10.2.0.1']], { ports: [tcp2], endpointPorts: [{ name: 'tcp2', protocol: 'TCP', port: 42 }] }),
    ]), owner);
    expect(slices.map((x) => [x.metadata!.labels!['multicluster.kubernetes.io/source-cluster'], x.ports!.map((p) => p.name)]))
      .toEqual([['east', ['tcp']], ['west', ['tcp2']]]);
  });
});
