import { describe, expect, it } from 'vitest';
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import type { ProbeState } from './prober.ts';
import type { ProbeTarget } from './probe-client.ts';
import { Topology, type TopologyCatalog, type TopologyProber } from './topology.ts';

function fakes() {
  const ads = new Map<string, ClusterAdvertisement>();
  const available = new Map<string, boolean>();
  const catalogListeners = new Map<string, Set<(c: string) => void>>();
  const probeListeners = new Set<(c: string) => void>();
  const probe = new Map<string, { state: ProbeState; ms?: number }>();
  let targets: readonly ProbeTarget[] = [];
  const annotations: Record<string, string> = {};
  /** Clusters that export shop/cart. */
  const exporters = new Set(['b', 'c']);
  const catalog: TopologyCatalog = {
    get: () => ({ members: [{ cluster: 'b' }] }) as unknown as MergedService,
    exportOf: () => ({ annotations }) as unknown as ExportRecord,
    isAvailable: (c) => available.get(c) ?? true,
    isMember: () => true,
    advertisement: (c) => ads.get(c),
    advertisements: () => [...ads.values()],
    keysExportedBy: (c) => (exporters.has(c) ? [['shop', 'cart']] : []),
    on: (event, l) => {
      if (!catalogListeners.has(event)) catalogListeners.set(event, new Set());
      catalogListeners.get(event)!.add(l);
      return () => catalogListeners.get(event)!.delete(l);
    },
  };
  const prober: TopologyProber = {
    setTargets: (t) => { targets = t; },
    state: (c) => probe.get(c)?.state ?? 'unknown',
    latencyMs: (c) => probe.get(c)?.ms,
    onChange: (l) => { probeListeners.add(l); return () => probeListeners.delete(l); },
  };
  const ad = (cluster: string, o: Partial<ClusterAdvertisement> = {}): ClusterAdvertisement => ({ cluster, latencies: {}, updatedAt: '2026-01-01T00:00:00Z', revision: 1, ...o });
  return {
    catalog, prober, ads, available, probe, annotations, ad,
    targets: () => targets,
    fireCatalog: (event: string, c: string) => catalogListeners.get(event)?.forEach((l) => l(c)),
    fireProbe: (c: string) => probeListeners.forEach((l) => l(c)),
  };
}

describe('Topology', () => {
  it('probes every other cluster that advertises a probe URL', () => {
    const f = fakes();
    f.ads.set('a', f.ad('a', { probeUrl: 'https://a:1' }));
    f.ads.set('b', f.ad('b', { probeUrl: 'https://b:1' }));
    f.ads.set('c', f.ad('c'));
    const t = new Topology({ local: { cluster: 'a' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 5 });
    t.start();
    expect(f.targets()).toEqual([{ cluster: 'b', url: 'https://b:1' }]);
    f.ads.set('c', f.ad('c', { probeUrl: 'https://c:1' }));
    f.fireCatalog('advertisementChanged', 'c');
    expect(f.targets().map((x) => x.cluster)).toEqual(['b', 'c']);
  });

  it('is unhealthy for a cluster whose lease expired or whose probes fail', () => {
    const f = fakes();
    const t = new Topology({ local: { cluster: 'a' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 5 });
    expect(t.view('b').healthy).toBe(true);
    f.probe.set('b', { state: 'down' });
    expect(t.view('b').healthy).toBe(false);
    f.probe.set('b', { state: 'up', ms: 3 });
    f.available.set('b', false);
    expect(t.view('b').healthy).toBe(false);
  });

  it('emits service changes only when health, RTT band or location change', () => {
    const f = fakes();
    const t = new Topology({ local: { cluster: 'a' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 5 });
    const changed: string[] = [];
    t.onChange((ns, name) => changed.push(`${ns}/${name}`));
    t.start();
    f.probe.set('b', { state: 'up', ms: 1 });
    f.fireProbe('b');
    f.probe.set('b', { state: 'up', ms: 3 });
    f.fireProbe('b');
    expect(changed).toEqual(['shop/cart']);
    f.probe.set('b', { state: 'up', ms: 7 });
    f.fireProbe('b');
    f.probe.set('b', { state: 'down' });
    f.fireProbe('b');
    f.available.set('c', false);
    f.fireCatalog('clusterAvailabilityChanged', 'c');
    expect(changed).toHaveLength(4);
  });

  it('emits only for the services the changed cluster exports', () => {
    const f = fakes();
    const t = new Topology({ local: { cluster: 'a' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 5 });
    const changed: string[] = [];
    t.onChange((ns, name) => changed.push(`${ns}/${name}`));
    t.start();
    f.probe.set('d', { state: 'down' });
    f.fireProbe('d');
    expect(changed).toEqual([]);
    f.probe.set('b', { state: 'down' });
    f.fireProbe('b');
    expect(changed).toEqual(['shop/cart']);
  });

  it('orders DNS endpoints nearest first and applies the oldest export\'s policy', () => {
    const f = fakes();
    f.probe.set('b', { state: 'up', ms: 2 });
    f.probe.set('c', { state: 'up', ms: 40 });
    const t = new Topology({ local: { cluster: 'a', zone: 'z1' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 5 });
    const eps = [{ cluster: 'c', addresses: ['3'] }, { cluster: 'b', addresses: ['2'] }, { cluster: 'a', addresses: ['1'], zone: 'z1' }];
    expect(t.order('shop', 'cart', eps).map((e) => e.cluster)).toEqual(['a', 'b', 'c']);
    f.annotations['plexus.io/dns-policy'] = 'local-only';
    expect(t.order('shop', 'cart', eps).map((e) => e.cluster)).toEqual(['a']);
  });

  it('holds an RTT until it moves by more than half a band, so a band edge does not flap', () => {
    const f = fakes();
    const t = new Topology({ local: { cluster: 'a' }, catalog: f.catalog, prober: f.prober, latencyBandMs: 10 });
    f.probe.set('b', { state: 'up', ms: 9 });
    expect(t.view('b').latencyMs).toBe(9);
    f.probe.set('b', { state: 'up', ms: 11 });
    expect(t.view('b').latencyMs).toBe(9);
    f.probe.set('b', { state: 'up', ms: 15 });
    expect(t.view('b').latencyMs).toBe(15);
    f.probe.set('b', { state: 'down' });
    expect(t.view('b').latencyMs).toBeUndefined();
    f.probe.set('b', { state: 'up', ms: 2 });
    expect(t.view('b').latencyMs).toBe(2);
  });
});
