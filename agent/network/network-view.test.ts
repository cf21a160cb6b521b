import { describe, expect, it } from 'vitest';
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import { NetworkView, type NetworkCatalog } from './network-view.ts';

function fakeCatalog() {
  const ads = new Map<string, ClusterAdvertisement>();
  const listeners = new Set<(c: string) => void>();
  const catalog: NetworkCatalog = {
    advertisement: (c) => ads.get(c),
    advertisements: () => [...ads.values()],
    isAvailable: () => true,
    keysExportedBy: (c) => (c === 'east' ? [['shop', 'web']] : []),
    on: (_e, l) => { listeners.add(l); return () => listeners.delete(l); },
  };
  const advertise = (cluster: string, o: Partial<ClusterAdvertisement>) => {
    ads.set(cluster, { cluster, latencies: {}, updatedAt: '2026-01-01T00:00:00Z', revision: 1, ...o });
    for (const l of listeners) l(cluster);
  };
  return { catalog, advertise };
}

describe('NetworkView', () => {
  it('tells every subscriber (import controller and DNS) of a gateway change, not only the first', () => {
    const { catalog, advertise } = fakeCatalog();
    const view = new NetworkView({ localCluster: 'home', localNetwork: 'a', catalog });
    const a: string[] = [];
    const b: string[] = [];
    view.onChange((ns, n) => a.push(`${ns}/${n}`));
    view.onChange((ns, n) => b.push(`${ns}/${n}`));
    advertise('east', { network: 'b', gateway: '192.0.2.1:15443' });
    advertise('east', { network: 'b', gateway: '192.0.2.1:15443', zone: 'z9' });
    expect(a).toEqual(['shop/web']);
    expect(b).toEqual(['shop/web']);
  });

  it('names the other networks and says when they change; same-network clusters are reached directly', () => {
    const { catalog, advertise } = fakeCatalog();
    const view = new NetworkView({ localCluster: 'home', localNetwork: 'a', catalog });
    let changes = 0;
    view.onNetworksChange(() => changes++);
    advertise('west', { network: 'a' });
    expect(changes).toBe(0);
    advertise('east', { network: 'b' });
    expect(view.otherNetworks()).toEqual(['b']);
    expect(changes).toBe(1);
    expect(view.reachesDirectly('west')).toBe(true);
    expect(view.reachesDirectly('east')).toBe(false);
    expect(view.route('east')).toMatchObject({ kind: 'unreachable', reason: 'NoGateway' });
  });
});
