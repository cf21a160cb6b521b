import { describe, expect, it } from 'vitest';
import { planAddresses } from './lab-network.ts';
import { clusterDnsIp, nthIp } from './node-lab.ts';
import { cniConflist } from './node-config.ts';

describe('planAddresses (routed pod networks, the default)', () => {
  it('gives each cluster its own node address and pod CIDR, and routes to every other cluster through its node', () => {
    const plan = planAddresses(3, 3);
    expect(plan.wireNetns).toBe('plx3-wire');
    expect(plan.hostIp).toBe('172.30.3.1');
    expect(plan.nodes.map((n) => [n.netns, n.nodeIp, n.podCidr])).toEqual([
      ['plx3-1', '172.30.3.11', '10.203.1.0/24'],
      ['plx3-2', '172.30.3.12', '10.203.2.0/24'],
      ['plx3-3', '172.30.3.13', '10.203.3.0/24'],
    ]);
    expect(plan.nodes[1]!.routes).toEqual([
      { to: '10.203.1.0/24', via: '172.30.3.11' },
      { to: '10.203.3.0/24', via: '172.30.3.13' },
    ]);
  });

  it('two labs (slots) never share a namespace name or an address', () => {
    const a = planAddresses(0, 2);
    const b = planAddresses(1, 2);
    const names = (p: typeof a): string[] => [p.wireNetns, p.hostLink, ...p.nodes.flatMap((n) => [n.netns, n.nodeIp, n.podCidr])];
    expect(names(a).filter((x) => names(b).includes(x))).toEqual([]);
  });

  it('routes nothing unreachable and masquerades nothing: one network, pod IPs cross clusters as they are', () => {
    const plan = planAddresses(3, 3);
    expect(plan.nodes.map((n) => [n.podNetwork, n.unreachable, n.masqueradeTo])).toEqual([
      ['routed', [], undefined], ['routed', [], undefined], ['routed', [], undefined],
    ]);
    expect(planAddresses(3, 3, ['a', 'a', 'a']).nodes.map((n) => [n.podCidr, n.routes, n.unreachable, n.masqueradeTo]))
      .toEqual(plan.nodes.map((n) => [n.podCidr, n.routes, n.unreachable, n.masqueradeTo]));
  });

  it.each([
    ['a slot out of range', 16, 2, 'routed'],
    ['too many clusters', 0, 17, 'routed'],
    ['a layout that is neither routed, isolated nor a list', 0, 2, 'flat'],
    ['fewer network names than clusters', 0, 3, ['east', 'west']],
    ['more network names than clusters', 0, 1, ['east', 'west']],
    ['an empty network name', 0, 2, ['east', '']],
    ['a network name that is not a lower-case label', 0, 2, ['east', 'West_1']],
  ] as const)('refuses %s', (_what, slot, n, layout) => {
    expect(() => planAddresses(slot, n, layout as never)).toThrow(expect.objectContaining({ code: 'PLX_HARNESS_BAD_OPTION' }));
  });
});

describe('planAddresses (isolated pod networks)', () => {
  it('gives every cluster the same pod CIDR and no route to any other cluster\'s pods', () => {
    const plan = planAddresses(2, 2, 'isolated');
    expect(plan.nodes.map((n) => [n.netns, n.nodeIp, n.podNetwork, n.podCidr, n.podGateway])).toEqual([
      ['plx2-1', '172.30.2.11', 'isolated-1', '10.202.1.0/24', '10.202.1.1'],
      ['plx2-2', '172.30.2.12', 'isolated-2', '10.202.1.0/24', '10.202.1.1'],
    ]);
    expect(plan.nodes.map((n) => n.routes)).toEqual([[], []]);
  });

  it('makes the rest of the lab\'s pod range unreachable, so a try at another cluster\'s pod fails at once', () => {
    expect(planAddresses(2, 2, 'isolated').nodes.map((n) => n.unreachable)).toEqual([['10.202.0.0/16'], ['10.202.0.0/16']]);
  });

  it('masquerades pod traffic to the wire (node IPs, host), the only addresses that cross networks', () => {
    const plan = planAddresses(2, 2, 'isolated');
    expect(plan.wireCidr).toBe('172.30.2.0/24');
    expect(plan.nodes.map((n) => n.masqueradeTo)).toEqual(['172.30.2.0/24', '172.30.2.0/24']);
    expect(plan.nodes.map((n) => n.nodeIp)).toEqual(['172.30.2.11', '172.30.2.12']);
  });
});

describe('planAddresses (named pod networks: a mixed fleet)', () => {
  const plan = planAddresses(4, 3, ['east', 'east', 'west']);

  it('gives clusters on one network distinct pod CIDRs and the other network the same CIDRs again (overlap)', () => {
    expect(plan.nodes.map((n) => [n.podNetwork, n.podCidr])).toEqual([
      ['east', '10.204.1.0/24'], ['east', '10.204.2.0/24'], ['west', '10.204.1.0/24'],
    ]);
  });

  it('routes pods between the clusters of one network and never to another network', () => {
    expect(plan.nodes.map((n) => n.routes)).toEqual([
      [{ to: '10.204.2.0/24', via: '172.30.4.12' }],
      [{ to: '10.204.1.0/24', via: '172.30.4.11' }],
      [],
    ]);
  });

  it('masquerades pod traffic to the wire on every node, and only to the wire (pod to pod on one network stays direct)', () => {
    expect(plan.nodes.map((n) => [n.masqueradeTo, n.unreachable])).toEqual(Array.from({ length: 3 }, () => ['172.30.4.0/24', ['10.204.0.0/16']]));
  });

  it('numbers CIDRs per network in cluster order, wherever a network\'s clusters sit', () => {
    expect(planAddresses(0, 4, ['a', 'b', 'a', 'b']).nodes.map((n) => n.podCidr))
      .toEqual(['10.200.1.0/24', '10.200.1.0/24', '10.200.2.0/24', '10.200.2.0/24']);
  });
});

describe('node addressing helpers', () => {
  it('kube-dns is the tenth address of the service CIDR', () => {
    expect(clusterDnsIp('10.96.0.0/16')).toBe('10.96.0.10');
    expect(nthIp('10.97.5.0/16', 1)).toBe('10.97.0.1');
  });

  it('the CNI network does not masquerade pod traffic (a flat network across clusters)', () => {
    const conf = JSON.parse(cniConflist({
      nodeName: 'n', dir: '/tmp/x', nodeIp: '172.30.0.11', podCidr: '10.200.1.0/24', podGateway: '10.200.1.1',
      serviceCidr: '10.96.0.0/16', clusterDns: '10.96.0.10', cgroupRoot: '/plx0-1', cniNetwork: 'plx0-1-pods',
      sandboxImage: 'plexus.local/pause:1', cniBinDir: '/usr/lib/cni',
    })) as { plugins: { type: string; ipMasq?: boolean; ipam?: { dataDir: string } }[] };
    const bridge = conf.plugins.find((p) => p.type === 'bridge')!;
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam?.dataDir.startsWith('/tmp/x/')).toBe(true);
  });
});
