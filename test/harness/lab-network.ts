// The real-node lab's network: one network namespace per cluster (its node: API server,
// kubelet, containerd, pods behind a CNI bridge), and one "wire" namespace holding a bridge
// that every cluster and the host are plugged into with a veth. No dummy devices (this
// kernel has none) and no host routes: the host reaches each node's address on the wire's
// subnet, which is all tests need (API servers listen there).
//
// Pod networks: clusters on one pod network get distinct pod CIDRs and a static route to
// each other's pods through the other cluster's node (a flat network, as VPC-native CNIs
// give). Clusters on different pod networks get no route to each other's pods, and reuse
// the same pod CIDRs (each network numbers its clusters' CIDRs from 1), so their pod IPs
// overlap: what an east-west gateway is for. Only node IPs on the wire connect different
// networks; pods reach them with their node's address (masquerade), because a reply to an
// overlapping or unrouted pod IP could not find its way back. planAddresses() decides all
// of it; setUpNetwork() only applies the plan.
import { execFileSync } from 'node:child_process';
import { HarnessError } from './errors.ts';
import type { LabHost } from './lab-host.ts';

/**
 * Which pod network each cluster is on: 'routed' (default) puts all on one; 'isolated'
 * puts each on its own; an array names one network per cluster (e.g. ['east', 'east', 'west']).
 */
export type PodNetworkLayout = 'routed' | 'isolated' | readonly string[];

export interface NodeAddressing {
  readonly netns: string;              // e.g. plx0-1
  readonly nodeIp: string;             // on the wire, e.g. 172.30.0.11
  readonly podNetwork: string;         // the name of the cluster's pod network
  readonly podCidr: string;            // e.g. 10.200.1.0/24
  readonly podGateway: string;         // the CNI bridge's address, e.g. 10.200.1.1
  /** Static routes in this node's namespace: destination CIDR → next hop on the wire. */
  readonly routes: readonly { readonly to: string; readonly via: string }[];
  /**
   * Unreachable routes: the lab's pod range minus what the routes above and the node's own
   * bridge cover. A pod addressing another network's pod fails at once (ICMP unreachable)
   * instead of its packet leaving through the host's default route.
   */
  readonly unreachable: readonly string[];
  /** Pod traffic to this CIDR (the wire: node IPs, the host) leaves with the node's address; unset on a single network. */
  readonly masqueradeTo?: string;
}

export interface LabAddressing {
  readonly layout: PodNetworkLayout;
  readonly wireNetns: string;
  readonly wireCidr: string;
  readonly hostLink: string;           // the host end of the host↔wire veth
  readonly hostIp: string;             // its address (etcd listens here)
  readonly prefixLength: number;
  readonly nodes: readonly NodeAddressing[];
}

const NETWORK_NAME = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

/** One network name per cluster, validated. */
export function podNetworkNames(n: number, layout: PodNetworkLayout): string[] {
  if (layout === 'routed') return Array.from({ length: n }, () => 'routed');
  if (layout === 'isolated') return Array.from({ length: n }, (_, i) => `isolated-${i + 1}`);
  if (!Array.isArray(layout)) {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `podNetworks must be 'routed', 'isolated' or one network name per cluster, got ${JSON.stringify(layout)}`);
  }
  if (layout.length !== n) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `podNetworks names ${layout.length} network(s) for ${n} cluster(s)`);
  const bad = layout.find((name) => typeof name !== 'string' || !NETWORK_NAME.test(name));
  if (bad !== undefined) {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `pod network name ${JSON.stringify(bad)} is not a lower-case label of 1-32 characters`);
  }
  return [...layout];
}

/** Addresses for lab slot `slot` (0..15) with `n` clusters. Pure: unit-tested. */
export function planAddresses(slot: number, n: number, layout: PodNetworkLayout = 'routed'): LabAddressing {
  if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `lab slot must be 0..15, got ${slot}`);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `cluster count must be 1..16, got ${n}`);
  const networks = podNetworkNames(n, layout);
  const wire = (host: number): string => `172.30.${slot}.${host}`;
  const wireCidr = `${wire(0)}/24`;
  const labPods = `10.${200 + slot}.0.0/16`;
  const several = new Set(networks).size > 1;
  // The k-th cluster of a network gets the k-th pod CIDR: the same CIDRs in every network.
  const base = networks.map((network, i) => {
    const k = networks.slice(0, i).filter((x) => x === network).length + 1;
    return { netns: `plx${slot}-${i + 1}`, nodeIp: wire(11 + i), podNetwork: network, podCidr: `10.${200 + slot}.${k}.0/24`, podGateway: `10.${200 + slot}.${k}.1` };
  });
  const nodes = base.map((node, i) => ({
    ...node,
    routes: base.filter((other, j) => j !== i && other.podNetwork === node.podNetwork).map((other) => ({ to: other.podCidr, via: other.nodeIp })),
    unreachable: several ? [labPods] : [],
    ...(several ? { masqueradeTo: wireCidr } : {}),
  }));
  return { layout, wireNetns: `plx${slot}-wire`, wireCidr, hostLink: `plx${slot}h`, hostIp: wire(1), prefixLength: 24, nodes };
}

/** Runs `command`, or throws PLX_HARNESS_START_FAILED naming `what` with its stderr. */
function runOrFail(command: string, args: string[], what: string): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new HarnessError('PLX_HARNESS_START_FAILED', `${what}: ${stderr}`, { cause: err });
  }
}

function ip(args: string[]): void {
  runOrFail('ip', args, `ip ${args.join(' ')}`);
}

function sysctlIn(netns: string, key: string, value: string): void {
  runOrFail('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`], `sysctl ${key} in ${netns}`);
}

function iptablesIn(netns: string, args: string[]): void {
  runOrFail('ip', ['netns', 'exec', netns, 'iptables', '-w', '5', ...args], `iptables ${args.join(' ')} in ${netns}`);
}

/** Creates the namespaces, veths, addresses and routes of `plan`, journalling each first. */
export function setUpNetwork(plan: LabAddressing, host: LabHost): void {
  const w = plan.wireNetns;
  host.record('netns', w);
  ip(['netns', 'add', w]);
  ip(['-n', w, 'link', 'set', 'lo', 'up']);
  ip(['-n', w, 'link', 'add', 'br0', 'type', 'bridge']);
  ip(['-n', w, 'link', 'set', 'br0', 'up']);

  host.record('link', plan.hostLink);
  ip(['link', 'add', plan.hostLink, 'type', 'veth', 'peer', 'name', 'host', 'netns', w]);
  ip(['-n', w, 'link', 'set', 'host', 'master', 'br0', 'up']);
  ip(['addr', 'add', `${plan.hostIp}/${plan.prefixLength}`, 'dev', plan.hostLink]);
  ip(['link', 'set', plan.hostLink, 'up']);

  plan.nodes.forEach((node, i) => {
    host.record('netns', node.netns);
    ip(['netns', 'add', node.netns]);
    ip(['link', 'add', 'name', 'eth0', 'netns', node.netns, 'type', 'veth', 'peer', 'name', `n${i + 1}`, 'netns', w]);
    ip(['-n', w, 'link', 'set', `n${i + 1}`, 'master', 'br0', 'up']);
    ip(['-n', node.netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', node.netns, 'addr', 'add', `${node.nodeIp}/${plan.prefixLength}`, 'dev', 'eth0']);
    ip(['-n', node.netns, 'link', 'set', 'eth0', 'up']);
    // Locally sent packets to a ClusterIP are routed before kube-proxy's DNAT: they need
    // some route. The host may forward what reaches it (ip_forward is on here): the
    // unreachable routes keep other networks' pod addresses from taking this way.
    ip(['-n', node.netns, 'route', 'add', 'default', 'via', plan.hostIp]);
    for (const r of node.routes) ip(['-n', node.netns, 'route', 'add', r.to, 'via', r.via]);
    for (const to of node.unreachable) ip(['-n', node.netns, 'route', 'add', 'unreachable', to]);
    // In the node's namespace, so it goes with it: the host's iptables are never touched.
    if (node.masqueradeTo) {
      iptablesIn(node.netns, ['-t', 'nat', '-A', 'POSTROUTING', '-s', node.podCidr, '-d', node.masqueradeTo, '-o', 'eth0', '-j', 'MASQUERADE']);
    }
    sysctlIn(node.netns, 'net.ipv4.ip_forward', '1');
    sysctlIn(node.netns, 'net.ipv4.conf.all.rp_filter', '0');
    sysctlIn(node.netns, 'net.bridge.bridge-nf-call-iptables', '1');
  });
}
