import { describe, expect, it } from 'vitest';
import { planAddresses } from './lab-network.ts';
import { clusterDnsIp, nthIp } from './node-lab.ts';
import { cniConflist } from './node-config.ts';

describe('planAddresses (routed pod networks)', () => {
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

  it.each([
    ['a slot out of range', 16, 2, 'routed'],
    ['too many clusters', 0, 17, 'routed'],
    ['the isolated mode (not built yet)', 0, 2, 'isolated'],
  ] as const)('refuses %s', (_what, slot, n, mode) => {
    expect(() => planAddresses(slot, n, mode)).toThrow(expect.objectContaining({ code: 'PLX_HARNESS_BAD_OPTION' }));
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
