import { describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import {
  MAX_ENDPOINTS_PER_SLICE, desiredDerivedService, desiredEndpointSlices, desiredImportStatus, desiredServiceImport, sourceClusters,
  type ImportInputs,
} from './desired-state.ts';
import { derivedServiceName, endpointSliceName } from './import-names.ts';

const owner = { name: 'web', uid: 'uid-1' };

function merged(o: Partial<MergedService> = {}): MergedService {
  return {
    namespace: 'shop', name: 'web', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    sessionAffinity: 'None',
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
    annotations: {}, revision: 1, ...o,
  };
}

const inputs = (service: MergedService, exports: ExportRecord[], down: string[] = []): ImportInputs =>
  ({ service, exports, isAvailable: (c) => !down.includes(c) });

describe('sourceClusters', () => {
  it('keeps available, non-excluded members that have an export, sorted', () => {
    const s = merged({ members: [
      { cluster: 'west', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'east', createdAt: '2026-01-02T00:00:00Z', conflicts: ['TypeConflict'], excluded: true },
      { cluster: 'north', createdAt: '2026-01-03T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'south', createdAt: '2026-01-04T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'alpha', createdAt: '2026-01-05T00:00:00Z', conflicts: ['PortConflict'], excluded: false },
    ] });
    const exps = ['west', 'east', 'north', 'alpha'].map((c) => record(c, [['10.0.0.1']]));
    expect(sourceClusters(inputs(s, exps, ['north']))).toEqual(['alpha', 'west']);
    expect(desiredImportStatus(inputs(s, exps, ['north']))).toEqual({ clusters: [{ cluster: 'alpha' }, { cluster: 'west' }] });
  });
});

describe('desiredServiceImport', () => {
  it('carries type, ports, session affinity and the derived ClusterIPs', () => {
    const s = merged({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
    const si = desiredServiceImport(s, ['10.96.0.10']);
    expect(si).toMatchObject({
      apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceImport',
      metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': 'web' } },
      spec: { type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], ips: ['10.96.0.10'], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
    });
  });

  it('has no ips for a Headless import or before the derived Service has one', () => {
    expect(desiredServiceImport(merged({ type: 'Headless' }), ['10.96.0.10']).spec.ips).toBeUndefined();
    expect(desiredServiceImport(merged(), []).spec.ips).toBeUndefined();
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
