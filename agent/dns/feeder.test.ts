import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import type { ServiceImport } from '../../crds/types.ts';
import { CatalogView } from '../catalog/catalog-view.ts';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ENDPOINT_SLICES, InformerRegistry, SERVICE_IMPORTS } from '../kube/index.ts';
import { fakeListWatches } from '../../test/support/fake-list-watch.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import type { EndpointOrder } from './endpoint-order.ts';
import { DnsFeeder, servedEndpoints, type HeadlessNetwork } from './feeder.ts';
import { Resolver, type Resolution } from './resolver.ts';

const log = pino({ level: 'silent' });
const member = (cluster: string, excluded = false) => ({ cluster, createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded });
const merged = (name: string, type: 'ClusterSetIP' | 'Headless', members = [member('east'), member('west')]): MergedService => ({
  namespace: 'shop', name, type, ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], members,
});
const exported = (cluster: string, name: string, addresses: string[]): ExportRecord => ({
  cluster, namespace: 'shop', name, createdAt: '2026-01-01T00:00:00Z', type: 'Headless', ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  clusterIPs: [], sessionAffinity: 'None', endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: addresses.map((a, i) => ({ addresses: [a], hostname: `${name}-${i}` })), annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1,
});
const si = (name: string, type: 'ClusterSetIP' | 'Headless', ips?: string[]): ServiceImport => ({
  apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceImport', metadata: { name, namespace: 'shop' },
  spec: { type, ports: [{ name: 'http', protocol: 'TCP', port: 80 }], ...(ips ? { ips } : {}) },
});
const addresses = (r: Resolution) => (r.kind === 'answer' ? r.answers.map((a) => a.data) : r.kind);

const stops: (() => Promise<void>)[] = [];
afterEach(async () => { for (const s of stops.splice(0)) await s(); });

/** A feeder on fake informers and an empty catalog, informers started, stopped after the test. */
function setup(order?: EndpointOrder, network?: HeadlessNetwork) {
  const lws = fakeListWatches();
  const informers = new InformerRegistry({ listWatch: lws.factory, logger: log, timers: new FakeTimers() });
  const catalog = new CatalogView();
  const resolver = new Resolver({ ttlSeconds: 5 });
  const feeder = new DnsFeeder({ resolver, informers, catalog, logger: log, ...(order ? { order } : {}), network });
  informers.start();
  stops.push(async () => { await feeder.stop(); await informers.stop(); });
  return { lws, catalog, resolver, feeder };
}

describe('DnsFeeder', () => {
  async function start(order?: EndpointOrder, network?: HeadlessNetwork) {
    const { lws, catalog, resolver, feeder } = setup(order, network);
    const imports = lws.of(SERVICE_IMPORTS);
    imports.put(si('cart', 'ClusterSetIP', ['10.96.0.10']));
    imports.put(si('pg', 'Headless'));
    catalog.replace({
      revision: 1, clusters: [],
      services: [merged('cart', 'ClusterSetIP'), merged('pg', 'Headless', [member('east'), member('west'), member('south', true)])],
      exports: [exported('east', 'pg', ['10.1.0.1', '10.1.0.2']), exported('west', 'pg', ['10.2.0.1']), exported('south', 'pg', ['10.3.0.1'])],
    });
    await feeder.start();
    return { resolver, imports, catalog };
  }

  it('loads ClusterSetIP services from ServiceImport ips and headless endpoints from the catalog', async () => {
    const { resolver } = await start();
    expect(resolver.ready).toBe(true);
    expect(addresses(resolver.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.96.0.10']);
    // south is excluded (type conflict): its endpoints stay out.
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    expect(addresses(resolver.resolve({ name: '_http._tcp.pg.shop.svc.clusterset.local', type: 'SRV' }))).toEqual([
      { priority: 0, weight: 100, port: 8080, target: 'pg-0.east.pg.shop.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 8080, target: 'pg-1.east.pg.shop.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 8080, target: 'pg-0.west.pg.shop.svc.clusterset.local' },
    ]);
  });

  it('rebuilds on ServiceImport events and on catalog changes (availability included)', async () => {
    const { resolver, imports, catalog } = await start();
    imports.put(si('cart', 'ClusterSetIP', ['10.96.0.20', 'fd00::20']), 'update');
    expect(addresses(resolver.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'AAAA' }))).toEqual(['fd00::20']);
    catalog.apply({ type: 'cluster', revision: 2, state: { cluster: 'east', available: false, leaseRenewedAt: null } });
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1']);
    catalog.apply({ type: 'export', revision: 3, cluster: 'west', namespace: 'shop', name: 'pg', export: null });
    expect(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    imports.remove(si('cart', 'ClusterSetIP'));
    expect(resolver.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
  });

  it('takes the endpoint order (and filtering) from the EndpointOrder seam', async () => {
    let cb: ((ns: string, name: string) => void) | undefined;
    let localOnly = false;
    const order: EndpointOrder = {
      order: (_ns, _name, eps) => (localOnly ? eps.filter((e) => e.cluster === 'west') : [...eps].reverse()),
      onChange: (c) => { cb = c; },
    };
    const { resolver } = await start(order);
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1', '10.1.0.2', '10.1.0.1']);
    localOnly = true;
    cb!('shop', 'pg');
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1']);
  });
});

describe('DnsFeeder across networks', () => {
  it('headless answers hold only pods this cluster reaches directly (same network), and follow network changes', async () => {
    let cb: ((ns: string, name: string) => void) | undefined;
    let eastElsewhere = true;
    const network: HeadlessNetwork = { reachesDirectly: (c) => !(eastElsewhere && c === 'east'), onChange: (c) => { cb = c; } };
    const { lws, catalog, resolver, feeder } = setup(undefined, network);
    lws.of(SERVICE_IMPORTS).put(si('pg', 'Headless'));
    catalog.replace({
      revision: 1, clusters: [], services: [merged('pg', 'Headless')],
      exports: [exported('east', 'pg', ['10.1.0.1']), exported('west', 'pg', ['10.2.0.1'])],
    });
    await feeder.start();
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1']);
    expect(resolver.resolve({ name: 'pg-0.east.pg.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    eastElsewhere = false;
    cb!('shop', 'pg');
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.1', '10.2.0.1']);
  });
});

describe('DnsFeeder before the broker catalog arrives', () => {
  it('serves ClusterSetIP names from ServiceImports, SERVFAIL for headless ones, then fills them from the first snapshot', async () => {
    const { lws, catalog, resolver, feeder } = setup();
    lws.of(SERVICE_IMPORTS).put(si('cart', 'ClusterSetIP', ['10.96.0.10']));
    lws.of(SERVICE_IMPORTS).put(si('pg', 'Headless'));
    await feeder.start();
    expect(addresses(resolver.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.96.0.10']);
    expect(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }).kind).toBe('servfail');
    expect(resolver.resolve({ name: 'pg-0.east.pg.shop.svc.clusterset.local', type: 'A' }).kind).toBe('servfail');
    expect(resolver.resolve({ name: 'other.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    lws.of(SERVICE_IMPORTS).put(si('gone', 'Headless'));
    catalog.replace({ revision: 1, clusters: [], services: [merged('pg', 'Headless')], exports: [exported('east', 'pg', ['10.1.0.1'])] });
    expect(addresses(resolver.resolve({ name: 'pg-0.east.pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.1']);
    // Not in the snapshot at all: no catalog event, yet it must not stay SERVFAIL.
    await catalog.whenSynced();
    await Promise.resolve();
    expect(resolver.resolve({ name: 'gone.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
  });

  // Regression (e2e broker-outage): an agent restarted during a broker outage answered
  // SERVFAIL for every headless name until the broker came back, although the slices it
  // had imported were still in the cluster.
  it('answers headless names from the imported EndpointSlices until the first snapshot, then from the catalog', async () => {
    const { lws, catalog, resolver, feeder } = setup();
    const slice = (name: string, cluster: string, eps: { a: string; ready?: boolean; host?: string }[], manager = 'agent.plexus.io'): V1EndpointSlice => ({
      metadata: { name, namespace: 'shop', labels: { 'multicluster.kubernetes.io/service-name': 'pg', 'multicluster.kubernetes.io/source-cluster': cluster, 'endpointslice.kubernetes.io/managed-by': manager } },
      addressType: 'IPv4', ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: eps.map((e) => ({ addresses: [e.a], conditions: { ready: e.ready ?? true }, ...(e.host ? { hostname: e.host } : {}) })),
    });
    lws.of(SERVICE_IMPORTS).put(si('pg', 'Headless'));
    lws.of(SERVICE_IMPORTS).put(si('empty', 'Headless'));
    lws.of(ENDPOINT_SLICES).put(slice('pg-west', 'west', [{ a: '10.2.0.1', host: 'pg-0' }, { a: '10.2.0.9', ready: false }]));
    lws.of(ENDPOINT_SLICES).put(slice('pg-east', 'east', [{ a: '10.1.0.1' }]));
    lws.of(ENDPOINT_SLICES).put(slice('pg-other', 'north', [{ a: '10.9.9.9' }], 'someone-else'));
    await feeder.start();
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.1', '10.2.0.1']);
    expect(addresses(resolver.resolve({ name: 'pg-0.west.pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1']);
    expect(addresses(resolver.resolve({ name: '_http._tcp.pg.shop.svc.clusterset.local', type: 'SRV' }))).toContainEqual({ priority: 0, weight: 100, port: 8080, target: 'pg-0.west.pg.shop.svc.clusterset.local' });
    // No slice at all: nothing is known, so still SERVFAIL (not an empty answer that would be cached).
    expect(resolver.resolve({ name: 'empty.shop.svc.clusterset.local', type: 'A' }).kind).toBe('servfail');
    // Slice changes are followed while the catalog is away…
    lws.of(ENDPOINT_SLICES).put(slice('pg-east', 'east', [{ a: '10.1.0.2' }]), 'update');
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.2', '10.2.0.1']);
    // …and the first snapshot takes over.
    catalog.replace({ revision: 1, clusters: [], services: [merged('pg', 'Headless')], exports: [exported('east', 'pg', ['10.1.0.7'])] });
    await Promise.resolve();
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.7']);
    lws.of(ENDPOINT_SLICES).put(slice('pg-east', 'east', [{ a: '10.1.0.3' }]), 'update');
    expect(addresses(resolver.resolve({ name: 'pg.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.7']);
  });
});

describe('servedEndpoints (headless answers follow the import\'s IP families)', () => {
  const eps = [
    { cluster: 'east', addresses: ['10.1.0.1'], ports: [] },
    { cluster: 'east', addresses: ['fd00::1'], ports: [] },
    { cluster: 'west', addresses: ['10.2.0.1', 'fd00::2'], ports: [] },
  ];
  const imp = (ipFamilies?: ('IPv4' | 'IPv6')[], reason?: string): ServiceImport => ({
    ...si('db', 'Headless'),
    spec: { type: 'Headless', ports: [], ...(ipFamilies ? { ipFamilies } : {}) },
    ...(reason ? { status: { conditions: [{ type: 'Ready', status: 'False', reason, message: '', lastTransitionTime: new Date(0) }] } } : {}),
  });

  it('an IPv4-only import answered with IPv6 addresses too: now only the IPv4 ones', () => {
    expect(servedEndpoints(imp(['IPv4']), eps).map((e) => e.addresses)).toEqual([['10.1.0.1'], ['10.2.0.1']]);
  });

  it('an import that is Ready=False IPFamilyNotSupported answered its exporters\' addresses: now none', () => {
    expect(servedEndpoints(imp(undefined, 'IPFamilyNotSupported'), eps)).toEqual([]);
    expect(servedEndpoints(imp(undefined, 'Pending'), eps)).toEqual(eps);
  });

  it('an import naming no family (older agents) keeps every address', () => {
    expect(servedEndpoints(imp(), eps)).toEqual(eps);
  });
});
