// The import side of networks: which source clusters go direct, through the local gateway
// or out, and what the imported slices then hold (pure; the slices come from the import
// controller's desired-state, fed the resolved routes as the reconciler does).
import { describe, expect, it } from 'vitest';
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import type { ExportRecord, MergedService, ServicePort } from '../../broker/api/catalog.ts';
import { NO_ADDRESSING, desiredEndpointSlices, desiredImportStatus, readyCondition, type ImportInputs } from '../controllers/service-import/desired-state.ts';
import type { ClusterView, RankingContext } from '../topology/ranking.ts';
import { STANDBY_ZONE } from '../topology/zone-hints.ts';
import { clusterRoute, networkCount, type NetworkContext } from './cluster-route.ts';
import { GatewayTunnels } from './gateway-tunnels.ts';
import { planSource } from './import-plan.ts';
import { resolveSources, type ImportNetwork } from './import-network.ts';

const owner = { name: 'web', uid: 'uid-1' };
const member = (cluster: string, day: number) => ({ cluster, createdAt: `2026-01-0${day}T00:00:00Z`, conflicts: [], excluded: false });
const TCP: ServicePort[] = [{ name: 'http', protocol: 'TCP', port: 80 }];
const service = (type: MergedService['type'] = 'ClusterSetIP', ports: ServicePort[] = TCP): MergedService => ({
  namespace: 'shop', name: 'web', type, ports, sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
  members: [member('east', 1), member('home', 2), member('west', 3)],
});
const record = (cluster: string, ips: string[], ports: ServicePort[] = TCP): ExportRecord => ({
  cluster, namespace: 'shop', name: 'web', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
  ports, clusterIPs: [], sessionAffinity: 'None',
  endpointPorts: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.port + 8000 })),
  endpoints: ips.map((ip) => ({ addresses: [ip] })), annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 1,
});
const exportsAll = [record('east', ['10.1.0.1', '10.1.0.2']), record('home', ['10.0.0.1']), record('west', ['10.2.0.1'])];

/** home is on network "a" with a gateway at 10.0.9.9; east is on "b" behind 192.0.2.1:15443; west shares "a". */
function network(o: { ads?: Record<string, Partial<ClusterAdvertisement>>; healthy?: (c: string) => boolean; gateway?: boolean; range?: { min: number; max: number } } = {}) {
  const ads: Record<string, Partial<ClusterAdvertisement>> = o.ads ?? { east: { network: 'b', gateway: '192.0.2.1:15443' }, west: { network: 'a' } };
  const tunnels = o.gateway === false ? undefined : new GatewayTunnels({ range: o.range ?? { min: 20000, max: 20099 }, localAddresses: ['10.0.9.9'] });
  const ctx: NetworkContext = { localCluster: 'home', localNetwork: 'a', hasLocalGateway: tunnels !== undefined, advertisement: (c) => ads[c], healthy: o.healthy ?? (() => true) };
  const net: ImportNetwork = { route: (c) => clusterRoute(ctx, c), tunnels };
  return { net, tunnels, ctx };
}

function inputsWith(net: ImportNetwork, o: Partial<ImportInputs> = {}): ImportInputs {
  const base: ImportInputs = { service: service(), exports: exportsAll, isAvailable: () => true, ...o };
  const sources = resolveSources(base.service, base.exports, net);
  return { ...base, sources, isRoutable: (c) => sources.get(c)?.kind !== 'excluded' };
}

const bySource = (i: ImportInputs) => Object.fromEntries(desiredEndpointSlices(i, owner).map((s) => [
  s.metadata!.labels!['multicluster.kubernetes.io/source-cluster']!, { addresses: s.endpoints!.map((e) => e.addresses[0]), ports: s.ports },
]));

describe('cluster routes', () => {
  it('same network (and no advertisement at all, on the default network) is direct; the local cluster always is', () => {
    const { ctx } = network();
    expect(clusterRoute(ctx, 'west')).toEqual({ kind: 'direct' });
    expect(clusterRoute(ctx, 'home')).toEqual({ kind: 'direct' });
    expect(clusterRoute({ ...ctx, localNetwork: 'default' }, 'nobody')).toEqual({ kind: 'direct' });
    expect(clusterRoute(ctx, 'nobody')).toMatchObject({ kind: 'unreachable', reason: 'NoGateway' });
  });

  it('another network goes through its advertised gateway, and nowhere when a member relays a loopback or malformed gateway', () => {
    const { ctx } = network();
    expect(clusterRoute(ctx, 'east')).toEqual({ kind: 'gateway', network: 'b', gateway: '192.0.2.1:15443', healthy: true });
    const bad = (gateway: string) => clusterRoute({ ...ctx, advertisement: () => ({ network: 'b', gateway }) }, 'east');
    expect(bad('127.0.0.1:15443')).toMatchObject({ kind: 'unreachable', reason: 'InvalidAdvertisement' });
    expect(bad('169.254.169.254:80')).toMatchObject({ kind: 'unreachable', reason: 'InvalidAdvertisement' });
    expect(bad('no port')).toMatchObject({ kind: 'unreachable', reason: 'InvalidAdvertisement' });
    expect(clusterRoute({ ...ctx, hasLocalGateway: false }, 'east')).toMatchObject({ kind: 'unreachable', reason: 'NoLocalGateway' });
  });

  it('counts the default network for clusters that advertise none', () => {
    expect(networkCount('default', [{}, { network: 'default' }])).toBe(1);
    expect(networkCount('default', [{}, { network: 'b' }])).toBe(2);
  });
});

describe('imported slices across networks', () => {
  it('points another network\'s endpoints at the local gateway with an allocated port; same-network endpoints stay direct', () => {
    const { net, tunnels } = network();
    const got = bySource(inputsWith(net));
    const [tunnel] = tunnels!.table().tunnels;
    expect(tunnel).toMatchObject({ cluster: 'east', gateway: '192.0.2.1:15443', namespace: 'shop', name: 'web', port: 80, protocol: 'TCP', portName: 'http' });
    expect(got).toEqual({
      east: { addresses: ['10.0.9.9'], ports: [{ name: 'http', protocol: 'TCP', port: tunnel!.listenPort }] },
      home: { addresses: ['10.0.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
      west: { addresses: ['10.2.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] },
    });
  });

  it('leaves out a cluster whose gateway is withdrawn or unhealthy, keeping its listen port for when it returns', () => {
    const { net, tunnels } = network();
    bySource(inputsWith(net));
    const port = tunnels!.table().tunnels[0]!.listenPort;
    const down = network({ healthy: (c) => c !== 'east' });
    const i = inputsWith({ ...down.net, tunnels });
    expect(Object.keys(bySource(i))).toEqual(['home', 'west']);
    expect(desiredImportStatus(i).clusters).toEqual([{ cluster: 'home' }, { cluster: 'west' }]);
    expect(tunnels!.table().tunnels[0]!.listenPort).toBe(port);
    const withdrawn = network({ ads: { east: { network: 'b' }, west: { network: 'a' } } });
    expect(Object.keys(bySource(inputsWith({ ...withdrawn.net, tunnels })))).toEqual(['home', 'west']);
    expect(tunnels!.table().tunnels).toEqual([]);
  });

  it('without a local gateway, another network\'s endpoints are left out (not pointed at pod IPs this cluster cannot reach)', () => {
    expect(Object.keys(bySource(inputsWith(network({ gateway: false }).net)))).toEqual(['home', 'west']);
  });

  it('a headless import across networks lists only same-network endpoints', () => {
    const { net, tunnels } = network();
    const i = inputsWith(net, { service: service('Headless') });
    expect(Object.keys(bySource(i))).toEqual(['home', 'west']);
    expect(planSource(i.service, exportsAll[0]!, net.route('east'))).toEqual({ kind: 'excluded', reason: 'HeadlessAcrossNetworks' });
    expect(tunnels!.table().tunnels).toEqual([]);
    const onlyEast = inputsWith(net, { service: service('Headless'), exports: [exportsAll[0]!] });
    expect(readyCondition(onlyEast, NO_ADDRESSING)).toMatchObject({
      status: 'False', reason: 'Pending', message: expect.stringContaining('east (HeadlessAcrossNetworks)'),
    });
  });

  it('tunnels only the TCP ports: a UDP port of another network gets no listen port and no slice port', () => {
    const mixed: ServicePort[] = [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }];
    const { net, tunnels } = network();
    const i = inputsWith(net, { service: service('ClusterSetIP', mixed), exports: [record('east', ['10.1.0.1'], mixed), record('west', ['10.2.0.1'], mixed)] });
    const got = bySource(i);
    expect(got.east!.ports!.map((p) => p.name)).toEqual(['http']);
    expect(got.west!.ports!.map((p) => p.name)).toEqual(['http', 'dns']);
    expect(tunnels!.table().tunnels.map((t) => t.portName)).toEqual(['http']);
    const udpOnly: ServicePort[] = [{ name: 'dns', protocol: 'UDP', port: 53 }];
    const u = inputsWith(net, { service: service('ClusterSetIP', udpOnly), exports: [record('east', ['10.1.0.1'], udpOnly)] });
    expect(u.sources!.get('east')).toEqual({ kind: 'excluded', reason: 'ProtocolNotTunneled' });
  });

  it('a full tunnel port range leaves the cluster out rather than sharing a port', () => {
    const { net } = network({ range: { min: 20000, max: 20000 } });
    const two: ServicePort[] = [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'https', protocol: 'TCP', port: 443 }];
    const i = inputsWith(net, { service: service('ClusterSetIP', two), exports: [record('east', ['10.1.0.1'], two)] });
    // One of the two ports fits: the slice carries only that one.
    expect(bySource(i).east!.ports).toHaveLength(1);
    const other = { ...service('ClusterSetIP', TCP), name: 'cart' };
    const j = resolveSources(other, [{ ...record('east', ['10.1.0.9']), name: 'cart' }], net);
    expect(j.get('east')).toEqual({ kind: 'excluded', reason: 'TunnelPortsExhausted' });
  });
});

describe('ranking through gateways', () => {
  const ctx = (views: Record<string, ClusterView>): RankingContext => ({ localCluster: 'home', localZone: 'z1', localRegion: 'r1', latencyBandMs: 5, cluster: (id) => views[id] });
  const hints = (i: ImportInputs) => Object.fromEntries(desiredEndpointSlices(i, owner).map((s) => [
    s.metadata!.labels!['multicluster.kubernetes.io/source-cluster']!, s.endpoints!.map((e) => e.hints?.forZones?.map((z) => z.name)),
  ]));
  const noLocal = exportsAll.filter((e) => e.cluster !== 'home');

  it('a gateway path ranks by the measured RTT to its cluster: the nearer remote network wins the local zone', () => {
    const { net } = network();
    const near = { east: { latencyMs: 2, healthy: true }, west: { latencyMs: 30, healthy: true } };
    expect(hints(inputsWith(net, { exports: noLocal, topology: { context: () => ctx(near) } }))).toEqual({ east: [['z1']], west: [[STANDBY_ZONE]] });
    const far = { east: { latencyMs: 30, healthy: true }, west: { latencyMs: 2, healthy: true } };
    expect(hints(inputsWith(net, { exports: noLocal, topology: { context: () => ctx(far) } }))).toEqual({ east: [[STANDBY_ZONE]], west: [['z1']] });
  });
});
