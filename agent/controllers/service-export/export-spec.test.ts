import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ServiceExport } from '../../../crds/types.ts';
import { buildExportSpec } from './export-spec.ts';

const se = (annotations: Record<string, string> = {}): ServiceExport => ({
  metadata: { namespace: 'shop', name: 'cart', creationTimestamp: '2026-01-01T10:00:00Z' as never, annotations },
});
const svc = (spec: V1Service['spec']): V1Service => ({ metadata: { namespace: 'shop', name: 'cart' }, spec });
const slice = (name: string, endpoints: V1EndpointSlice['endpoints'], o: Partial<V1EndpointSlice> = {}): V1EndpointSlice => ({
  metadata: { namespace: 'shop', name, labels: { 'kubernetes.io/service-name': 'cart' } },
  addressType: 'IPv4', endpoints, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], ...o,
});

function build(service: V1Service, slices: V1EndpointSlice[] = [], serviceExport = se()) {
  const r = buildExportSpec({ clusterId: 'east', serviceExport, service, slices });
  if (!r.ok) throw new Error(r.problem);
  return r.spec;
}

describe('buildExportSpec', () => {
  it('exports a ClusterIP Service with ports, IPs, affinity, createdAt and plexus.io annotations', () => {
    const spec = build(
      svc({ type: 'ClusterIP', clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10', 'fd00::10'], ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }, { port: 53, protocol: 'UDP' }],
        sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
      [],
      se({ 'plexus.io/dns-ttl': '5', 'other.io/x': 'no' }),
    );
    expect(spec).toMatchObject({
      cluster: 'east', namespace: 'shop', name: 'cart', createdAt: '2026-01-01T10:00:00Z', type: 'ClusterSetIP',
      ports: [{ name: 'http', protocol: 'TCP', appProtocol: 'http', port: 80 }, { protocol: 'UDP', port: 53 }],
      clusterIPs: ['10.0.0.10', 'fd00::10'], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      annotations: { 'plexus.io/dns-ttl': '5' }, endpoints: [],
    });
  });

  it('exports a headless Service as Headless with no cluster IPs', () => {
    const spec = build(svc({ clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] }));
    expect(spec.type).toBe('Headless');
    expect(spec.clusterIPs).toEqual([]);
  });

  it('exports NodePort and LoadBalancer Services as ClusterSetIP', () => {
    expect(build(svc({ type: 'NodePort', clusterIP: '10.0.0.1', ports: [{ port: 80, nodePort: 30080 }] })).type).toBe('ClusterSetIP');
    expect(build(svc({ type: 'LoadBalancer', clusterIP: '10.0.0.2', ports: [{ port: 80 }] })).type).toBe('ClusterSetIP');
  });

  it('keeps only ready endpoints (unknown readiness counts as ready), with hostname, zone and node', () => {
    const spec = build(svc({ clusterIP: 'None', ports: [{ port: 80 }] }), [
      slice('cart-a', [
        { addresses: ['10.1.0.2'], conditions: { ready: true }, hostname: 'cart-0', zone: 'z1', nodeName: 'n1' },
        { addresses: ['10.1.0.3'], conditions: { ready: false } },
        { addresses: ['10.1.0.1'] },
      ]),
      slice('cart-b', [{ addresses: ['10.1.0.2'], conditions: { ready: true }, hostname: 'cart-0', zone: 'z1', nodeName: 'n1' }]),
      slice('cart-fqdn', [{ addresses: ['db.example.com'] }], { addressType: 'FQDN' }),
    ]);
    expect(spec.endpoints).toEqual([
      { addresses: ['10.1.0.1'] },
      { addresses: ['10.1.0.2'], hostname: 'cart-0', zone: 'z1', nodeName: 'n1' },
    ]);
    expect(spec.endpointPorts).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
  });

  it('builds the same spec whatever order the slices come in', () => {
    const a = slice('a', [{ addresses: ['10.1.0.9'] }], { ports: [{ name: 'b', port: 2, protocol: 'TCP' }] });
    const b = slice('b', [{ addresses: ['10.1.0.1'] }], { ports: [{ name: 'a', port: 1, protocol: 'TCP' }] });
    const s = svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }] });
    expect(JSON.stringify(build(s, [a, b]))).toBe(JSON.stringify(build(s, [b, a])));
  });

  it('skips "all ports" slice ports, which have no number', () => {
    const spec = build(svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }] }), [slice('x', [], { ports: [{ name: 'any' }] })]);
    expect(spec.endpointPorts).toEqual([]);
  });

  it('carries spec.exportedLabels/exportedAnnotations, ipFamilies, internalTrafficPolicy and trafficDistribution (mcs-api v1beta1)', () => {
    const spec = build(
      svc({ clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1', 'fd00::1'], ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }], internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose' }),
      [],
      { ...se({ 'plexus.io/dns-policy': 'nearest' }), spec: { exportedLabels: { 'dummy-label': 'true' }, exportedAnnotations: { 'dummy-annotation': 'true' } } },
    );
    expect(spec).toMatchObject({
      exportedLabels: { 'dummy-label': 'true' }, exportedAnnotations: { 'dummy-annotation': 'true' },
      ipFamilies: ['IPv4', 'IPv6'], internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose',
      // Plexus's own policy annotations stay a separate channel: never exported as ServiceImport annotations.
      annotations: { 'plexus.io/dns-policy': 'nearest' },
    });
  });

  it('does not carry the Service\'s or ServiceExport\'s own labels and annotations, only the exported ones', () => {
    const serviceExport: ServiceExport = { metadata: { ...se().metadata, labels: { 'dummy-svcexport': 'dummy' }, annotations: { 'dummy-svcexport': 'dummy' } } };
    const spec = build({ ...svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }] }), metadata: { namespace: 'shop', name: 'cart', labels: { 'dummy-svc': 'dummy' } } }, [], serviceExport);
    expect(spec.exportedLabels).toEqual({});
    expect(spec.exportedAnnotations).toEqual({});
  });

  it('derives ipFamilies from the ClusterIPs when the Service does not list them, and leaves them empty for a headless Service without', () => {
    expect(build(svc({ clusterIP: 'fd00::1', clusterIPs: ['fd00::1'], ports: [{ port: 80 }] })).ipFamilies).toEqual(['IPv6']);
    expect(build(svc({ clusterIP: 'None', ports: [{ port: 80 }] })).ipFamilies).toEqual([]);
  });

  it('refuses an exported label the ServiceImport could not carry, naming it', () => {
    const r = buildExportSpec({
      clusterId: 'east', serviceExport: { ...se(), spec: { exportedLabels: { 'bad key!': 'x' } } }, service: svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }] }), slices: [],
    });
    expect(!r.ok && r.problem).toContain('exportedLabels');
  });

  it('reports input the broker would refuse instead of throwing', () => {
    const r = buildExportSpec({
      clusterId: 'east', serviceExport: se(), service: svc({ clusterIP: 'None', ports: [{ port: 80 }] }),
      slices: [slice('x', [{ addresses: ['10.1.0.1'], hostname: 'Not_A_Label' }])],
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toContain('endpoints.0.hostname');
    const noTimestamp = buildExportSpec({ clusterId: 'east', serviceExport: { metadata: { namespace: 'shop', name: 'cart' } }, service: svc({ ports: [] }), slices: [] });
    expect(noTimestamp.ok).toBe(false);
  });
});
