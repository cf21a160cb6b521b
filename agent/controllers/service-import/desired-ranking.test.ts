// The import side of nearest-instance ranking: zone hints on imported slices, PreferClose
// on the derived Service, the plexus.io/ranking annotation, local-only; and nothing of it
// without topology (the pre-existing behaviour).
import { describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import type { ClusterView, RankingContext } from '../../topology/ranking.ts';
import { STANDBY_ZONE } from '../../topology/zone-hints.ts';
import { desiredDerivedService, desiredServiceImport, effectiveTrafficDistribution, desiredEndpointSlices, desiredRankingAnnotations, type ImportInputs } from './desired-state.ts';

const owner = { name: 'web', uid: 'uid-1' };
const member = (cluster: string, day: number) => ({ cluster, createdAt: `2026-01-0${day}T00:00:00Z`, conflicts: [], excluded: false });
const service = (type: MergedService['type'] = 'ClusterSetIP'): MergedService => ({
  namespace: 'shop', name: 'web', type, ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
  members: [member('east', 1), member('home', 2), member('west', 3)],
});
const record = (cluster: string, endpoints: { ip: string; zone?: string }[], annotations: Record<string, string> = {}): ExportRecord => ({
  cluster, namespace: 'shop', name: 'web', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }], clusterIPs: [], sessionAffinity: 'None',
  endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.zone ? { zone: e.zone } : {}) })), annotations, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1,
});

function ctx(views: Record<string, ClusterView>): RankingContext {
  return { localCluster: 'home', localZone: 'z1', localRegion: 'r1', latencyBandMs: 5, cluster: (id) => views[id] };
}

const healthy = { east: { latencyMs: 30, healthy: true }, west: { latencyMs: 2, healthy: true } };
const exportsOf = (eastAnnotations: Record<string, string> = {}) => [
  record('east', [{ ip: '10.1.0.1' }], eastAnnotations),
  record('home', [{ ip: '10.0.0.1', zone: 'z1' }, { ip: '10.0.0.2', zone: 'z2' }]),
  record('west', [{ ip: '10.2.0.1' }]),
];
const inputs = (views: Record<string, ClusterView>, o: Partial<ImportInputs> = {}): ImportInputs => ({
  service: service(), exports: exportsOf(), isAvailable: () => true, topology: { context: () => ctx(views) }, ...o,
});

function hintsOf(i: ImportInputs): Record<string, string[] | undefined> {
  const out: Record<string, string[] | undefined> = {};
  for (const s of desiredEndpointSlices(i, owner)) for (const e of s.endpoints ?? []) out[e.addresses[0]!] = e.hints?.forZones?.map((z) => z.name);
  return out;
}

describe('imported slices with topology', () => {
  it('hints each local zone to its own endpoints and everything else to the standby zone', () => {
    expect(hintsOf(inputs(healthy))).toEqual({
      '10.0.0.1': ['z1'], '10.0.0.2': ['z2'], '10.1.0.1': [STANDBY_ZONE], '10.2.0.1': [STANDBY_ZONE],
    });
  });

  it('without local endpoints, hints the nearest healthy cluster; recomputes when it fails', () => {
    const noLocal = { exports: exportsOf().filter((e) => e.cluster !== 'home') };
    expect(hintsOf(inputs(healthy, noLocal))).toEqual({ '10.1.0.1': [STANDBY_ZONE], '10.2.0.1': ['z1'] });
    const westDown = { ...healthy, west: { latencyMs: 2, healthy: false } };
    expect(hintsOf(inputs(westDown, noLocal))).toEqual({ '10.1.0.1': ['z1'], '10.2.0.1': [STANDBY_ZONE] });
  });

  it('local-only keeps only the local cluster\'s slices', () => {
    const i = inputs(healthy, { exports: exportsOf({ 'plexus.io/dns-policy': 'local-only' }) });
    const sources = desiredEndpointSlices(i, owner).map((s) => s.metadata?.labels?.['multicluster.kubernetes.io/source-cluster']);
    expect(sources).toEqual(['home']);
  });

  it('round-robin and headless imports carry no hints', () => {
    const rr = inputs(healthy, { exports: exportsOf({ 'plexus.io/dns-policy': 'round-robin' }) });
    expect(Object.values(hintsOf(rr)).every((h) => h === undefined)).toBe(true);
    const headless = inputs(healthy, { service: service('Headless') });
    expect(Object.values(hintsOf(headless)).every((h) => h === undefined)).toBe(true);
  });

  it('without topology: no hints, no annotation, no trafficDistribution (unchanged behaviour)', () => {
    const plain = { ...inputs(healthy), topology: undefined };
    expect(Object.values(hintsOf(plain)).every((h) => h === undefined)).toBe(true);
    expect(desiredRankingAnnotations(plain)).toBeUndefined();
    expect(desiredDerivedService(service(), owner)?.spec?.trafficDistribution).toBeUndefined();
  });
});

describe('derived Service and ranking annotation', () => {
  it('sets PreferClose when topology is known and the exporters set no trafficDistribution; the ServiceImport says the same', () => {
    const td = effectiveTrafficDistribution(service(), true);
    expect(td).toBe('PreferClose');
    expect(desiredDerivedService(service(), owner, { trafficDistribution: td })?.spec?.trafficDistribution).toBe('PreferClose');
    expect(desiredServiceImport(service(), { trafficDistribution: td }).spec.trafficDistribution).toBe('PreferClose');
    expect(effectiveTrafficDistribution(service(), false)).toBeUndefined();
  });

  it('keeps the exporters\' trafficDistribution on both the ServiceImport and the derived Service, topology or not', () => {
    const s = { ...service(), trafficDistribution: 'PreferSameNode' };
    for (const known of [true, false]) {
      const td = effectiveTrafficDistribution(s, known);
      expect(td).toBe('PreferSameNode');
      expect(desiredDerivedService(s, owner, { trafficDistribution: td })?.spec?.trafficDistribution).toBe('PreferSameNode');
    }
  });

  it('names the policy, the clusters nearest first, and the unhealthy ones', () => {
    const views = { ...healthy, east: { latencyMs: 30, healthy: false } };
    const a = desiredRankingAnnotations(inputs(views))!;
    expect(JSON.parse(a['plexus.io/ranking']!)).toEqual({ policy: 'nearest', zone: 'z1', clusters: ['home', 'west'], excluded: ['east'] });
  });
});
