import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { CatalogView } from './catalog-view.ts';

function svc(name: string, clusters: string[], o: Partial<MergedService> = {}): MergedService {
  return {
    namespace: 'shop', name, type: 'ClusterSetIP', ports: [{ protocol: 'TCP', port: 80 }], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
    members: clusters.map((cluster) => ({ cluster, createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false })),
    ...o,
  };
}

function exp(name: string, cluster: string, revision = 1): ExportRecord {
  return {
    cluster, namespace: 'shop', name, createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP', ports: [{ protocol: 'TCP', port: 80 }],
    clusterIPs: [], sessionAffinity: 'None', endpointPorts: [], endpoints: [{ addresses: ['10.0.0.1'] }], annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision,
  };
}

function snapshot(revision: number, names: Record<string, string[]>, clusters: Record<string, boolean> = {}): CatalogSnapshot {
  return {
    revision,
    services: Object.entries(names).map(([n, cs]) => svc(n, cs)),
    exports: Object.entries(names).flatMap(([n, cs]) => cs.map((c) => exp(n, c))),
    clusters: Object.entries(clusters).map(([cluster, available]) => ({ cluster, available, leaseRenewedAt: null })),
  };
}

function recorder(view: CatalogView): string[] {
  const seen: string[] = [];
  view.onChange((ns, name) => seen.push(`${ns}/${name}`));
  view.on('clusterAvailabilityChanged', (c, a) => seen.push(`cluster ${c}=${a}`));
  return seen;
}

describe('CatalogView', () => {
  it('is not synced and empty until the first snapshot, then answers get/exports/availability', async () => {
    const view = new CatalogView();
    expect(view.synced).toBe(false);
    const synced = view.whenSynced();
    view.replace(snapshot(5, { web: ['west', 'east'] }, { east: true, west: false }));
    await synced;
    expect(view.synced).toBe(true);
    expect(view.revision).toBe(5);
    expect(view.get('shop', 'web')?.members.map((m) => m.cluster)).toEqual(['west', 'east']);
    expect(view.exportsOf('shop', 'web').map((e) => e.cluster)).toEqual(['east', 'west']);
    expect(view.exportOf('shop', 'web', 'east')?.cluster).toBe('east');
    expect(view.isAvailable('west')).toBe(false);
    expect(view.isAvailable('never-heard-of')).toBe(true);
    expect(view.keys()).toEqual([['shop', 'web']]);
  });

  it('knows members: everyone before the first snapshot (an agent restarted during a broker outage refused its peers, who then dropped its endpoints), a cluster with a lease, not once its removal is announced, again after it rejoins', () => {
    const view = new CatalogView();
    expect(view.isMember('east')).toBe(true);
    view.replace(snapshot(1, {}, { east: true, west: true }));
    expect([view.isMember('east'), view.isMember('west'), view.isMember('north')]).toEqual([true, true, false]);
    view.apply({ type: 'cluster', revision: 2, state: { cluster: 'east', available: false, leaseRenewedAt: null, removed: true } });
    expect([view.isMember('east'), view.isMember('west')]).toEqual([false, true]);
    view.apply({ type: 'cluster', revision: 3, state: { cluster: 'east', available: true, leaseRenewedAt: '2026-01-01T00:00:00Z' } });
    expect(view.isMember('east')).toBe(true);
  });

  it('emits serviceChanged for service and export events, only when something changed', () => {
    const view = new CatalogView();
    view.replace(snapshot(1, {}));
    const seen = recorder(view);
    view.apply({ type: 'export', revision: 2, cluster: 'east', namespace: 'shop', name: 'web', export: exp('web', 'east', 2) });
    view.apply({ type: 'service', revision: 2, namespace: 'shop', name: 'web', service: svc('web', ['east']) });
    view.apply({ type: 'service', revision: 3, namespace: 'shop', name: 'web', service: svc('web', ['east']) });
    expect(seen).toEqual(['shop/web', 'shop/web']);
    view.apply({ type: 'export', revision: 4, cluster: 'east', namespace: 'shop', name: 'web', export: null });
    view.apply({ type: 'service', revision: 4, namespace: 'shop', name: 'web', service: null });
    expect(seen).toEqual(['shop/web', 'shop/web', 'shop/web', 'shop/web']);
    expect(view.get('shop', 'web')).toBeUndefined();
    expect(view.exportsOf('shop', 'web')).toEqual([]);
    expect(view.keys()).toEqual([]);
    expect(view.revision).toBe(4);
  });

  it('turns an availability flip into serviceChanged for every service that cluster exports', () => {
    const view = new CatalogView();
    view.replace(snapshot(1, { web: ['east'], db: ['east', 'west'], api: ['west'] }, { east: true, west: true }));
    const seen = recorder(view);
    view.apply({ type: 'cluster', revision: 2, state: { cluster: 'east', available: false, leaseRenewedAt: null } });
    expect(seen.sort()).toEqual(['cluster east=false', 'shop/db', 'shop/web']);
    expect(view.keysExportedBy('east').sort()).toEqual([['shop', 'db'], ['shop', 'web']]);
    expect(view.keysExportedBy('nowhere')).toEqual([]);
    seen.length = 0;
    view.apply({ type: 'cluster', revision: 3, state: { cluster: 'east', available: false, leaseRenewedAt: '2026-01-01T00:00:00Z' } });
    expect(seen).toEqual([]);
  });

  it('on relist diffs old against new and emits vanished, appeared and changed keys, not unchanged ones', () => {
    const view = new CatalogView();
    view.replace(snapshot(1, { web: ['east'], db: ['east'], api: ['west'] }, { east: true, west: true }));
    const seen = recorder(view);
    view.replace(snapshot(9, { web: ['east'], db: ['east', 'west'], cache: ['east'] }, { east: true, west: false }));
    expect(seen).toEqual(['cluster west=false', 'shop/api', 'shop/cache', 'shop/db']);
    expect(view.get('shop', 'api')).toBeUndefined();
    expect(view.revision).toBe(9);
  });

  it('keeps its state when nothing is delivered (an outage is not a deletion)', () => {
    const view = new CatalogView();
    view.replace(snapshot(1, { web: ['east'] }));
    const seen = recorder(view);
    expect(view.get('shop', 'web')).toBeDefined();
    expect(seen).toEqual([]);
  });

  it('unsubscribes', () => {
    const view = new CatalogView();
    const seen: number[] = [];
    const off = view.on('synced', (r) => seen.push(r));
    view.replace(snapshot(1, {}));
    off();
    view.replace(snapshot(2, {}));
    expect(seen).toEqual([1]);
  });

  it('never imports what the export guard forbids, even when the broker relays it: protected namespaces and special-range addresses are dropped and reported', () => {
    const refused: string[] = [];
    const view = new CatalogView({ onRefused: (r) => refused.push(`${r.namespace}/${r.name} ${r.reason}${'address' in r ? ` ${r.address}` : ''}`) });
    const dns = { ...exp('kube-dns', 'east'), namespace: 'kube-system', endpoints: [{ addresses: ['127.0.0.1'] }] };
    const web = { ...exp('web', 'east'), endpoints: [{ addresses: ['169.254.169.254'] }, { addresses: ['10.0.0.1', '::1'] }, { addresses: ['ff02::1'] }] };
    view.replace({ revision: 1, services: [{ ...svc('kube-dns', ['east']), namespace: 'kube-system' }, svc('web', ['east'])], exports: [dns, web], clusters: [] });
    expect(view.keys()).toEqual([['shop', 'web']]);
    expect(view.exportOf('shop', 'web', 'east')?.endpoints).toEqual([{ addresses: ['10.0.0.1'] }]);
    view.apply({ type: 'export', revision: 2, cluster: 'east', namespace: 'kube-system', name: 'kube-dns', export: dns });
    view.apply({ type: 'service', revision: 2, namespace: 'kube-system', name: 'kube-dns', service: { ...svc('kube-dns', ['east']), namespace: 'kube-system' } });
    expect(view.get('kube-system', 'kube-dns')).toBeUndefined();
    expect(refused).toEqual([
      'kube-system/kube-dns protected-namespace', 'kube-system/kube-dns protected-namespace',
      'shop/web link-local 169.254.169.254', 'shop/web loopback ::1', 'shop/web multicast ff02::1',
      'kube-system/kube-dns protected-namespace', 'kube-system/kube-dns protected-namespace',
    ]);
  });
});
