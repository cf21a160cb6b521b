import { describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { sourceClusters, type ExporterInputs } from './source-clusters.ts';

function merged(o: Partial<MergedService> = {}): MergedService {
  return {
    namespace: 'shop', name: 'web', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
    members: [],
    ...o,
  };
}

function record(cluster: string, addresses: string[][]): ExportRecord {
  return {
    cluster, namespace: 'shop', name: 'web', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }], clusterIPs: [], sessionAffinity: 'None',
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: addresses.map((a, i) => ({ addresses: a, hostname: `pod-${i}`, zone: 'z1', nodeName: 'node-1' })),
    annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1,
  };
}

const inputs = (service: MergedService, exports: ExportRecord[], down: string[] = []): ExporterInputs =>
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
  });
});
