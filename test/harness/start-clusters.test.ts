import { describe, expect, it } from 'vitest';
import type { HarnessError } from './errors.ts';
import { firstServiceIp, startClusters } from './start-clusters.ts';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as HarnessError).code;
  }
}

describe('firstServiceIp', () => {
  it.each([
    ['10.96.0.0/16', '10.96.0.1'],
    ['10.96.5.7/16', '10.96.0.1'],
    ['192.168.7.0/24', '192.168.7.1'],
    ['10.97.0.0/16,fd00:10:97::/108', '10.97.0.1'],
  ])('%s → %s', (cidr, ip) => {
    expect(firstServiceIp(cidr)).toBe(ip);
  });

  it.each(['fd00::/108', '10.96.0.0', '300.1.1.0/24', '10.0.0.0/31'])('refuses %s', (cidr) => {
    expect(() => firstServiceIp(cidr)).toThrow(expect.objectContaining({ code: 'PLX_HARNESS_BAD_OPTION' }));
  });
});

describe('startClusters option checks (before anything starts)', () => {
  it.each([
    ['zero clusters', 0, {}],
    ['too few names', 2, { names: ['a'] }],
    ['duplicate names', 2, { names: ['a', 'a'] }],
    ['a name that is not an RFC-1123 label', 1, { names: ['Cluster_1'] }],
    ['a CIDR count that does not match', 2, { serviceCidrs: ['10.96.0.0/16'] }],
    ['an IPv6 service range wider than /108', 1, { serviceCidrs: '10.96.0.0/16,fd00::/64' }],
    ['three service ranges', 1, { serviceCidrs: '10.96.0.0/16,fd00::/108,fd01::/108' }],
    ['a pod network list that does not name one network per cluster', 3, { nodes: { podNetworks: ['east', 'west'] } }],
    ['a pod network layout that is neither routed, isolated nor a list', 2, { nodes: { podNetworks: 'flat' as never } }],
  ])('refuses %s', async (_what, n, opts) => {
    expect(await codeOf(startClusters(n, opts))).toBe('PLX_HARNESS_BAD_OPTION');
  });
});
