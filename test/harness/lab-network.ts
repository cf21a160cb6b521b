// The real-node lab's network: one network namespace per cluster (its node: API server,
// kubelet, containerd, pods behind a CNI bridge), and one "wire" namespace holding a bridge
// that every cluster and the host are plugged into with a veth. No dummy devices (this
// kernel has none) and no host routes: the host reaches each node's address on the wire's
// subnet, which is all tests need (API servers listen there).
//
// Pod networks: `routed` gives every cluster its own pod CIDR and a static route to every
// other cluster's pods through that cluster's node (a flat network, as VPC-native CNIs
// give). The seam for a second mode, `isolated` (pod CIDRs not routed and allowed to
// overlap, for an east-west gateway), is planAddresses(): it decides the CIDRs and the
// routes; setUpNetwork() only applies the plan.
import { execFileSync } from 'node:child_process';
import { HarnessError } from './errors.ts';
import type { LabHost } from './lab-host.ts';

export type PodNetworkMode = 'routed' | 'isolated';

export interface NodeAddressing {
  readonly netns: string;              // e.g. plx0-1
  readonly nodeIp: string;             // on the wire, e.g. 172.30.0.11
  readonly podCidr: string;            // e.g. 10.200.1.0/24
  readonly podGateway: string;         // the CNI bridge's address, e.g. 10.200.1.1
  /** Static routes in this node's namespace: destination CIDR → next hop on the wire. */
  readonly routes: readonly { readonly to: string; readonly via: string }[];
}

export interface LabAddressing {
  readonly mode: PodNetworkMode;
  readonly wireNetns: string;
  readonly hostLink: string;           // the host end of the host↔wire veth
  readonly hostIp: string;             // its address (etcd listens here)
  readonly prefixLength: number;
  readonly nodes: readonly NodeAddressing[];
}

/** Addresses for lab slot `slot` (0..15) with `n` clusters. Pure: unit-tested. */
export function planAddresses(slot: number, n: number, mode: PodNetworkMode = 'routed'): LabAddressing {
  if (!Number.isInteger(slot) || slot < 0 || slot > 15) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `lab slot must be 0..15, got ${slot}`);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `cluster count must be 1..16, got ${n}`);
  if (mode !== 'routed') {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `pod network mode ${mode} is not built yet (only routed)`);
  }
  const wire = (host: number): string => `172.30.${slot}.${host}`;
  const base = Array.from({ length: n }, (_, i) => ({
    netns: `plx${slot}-${i + 1}`,
    nodeIp: wire(11 + i),
    podCidr: `10.${200 + slot}.${i + 1}.0/24`,
    podGateway: `10.${200 + slot}.${i + 1}.1`,
  }));
  const nodes = base.map((node, i) => ({
    ...node,
    routes: base.filter((_, j) => j !== i).map((other) => ({ to: other.podCidr, via: other.nodeIp })),
  }));
  return { mode, wireNetns: `plx${slot}-wire`, hostLink: `plx${slot}h`, hostIp: wire(1), prefixLength: 24, nodes };
}

function ip(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new HarnessError('PLX_HARNESS_START_FAILED', `ip ${args.join(' ')}: ${stderr}`, { cause: err });
  }
}

function sysctlIn(netns: string, key: string, value: string): void {
  try {
    execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-qw', `${key}=${value}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new HarnessError('PLX_HARNESS_START_FAILED', `sysctl ${key} in ${netns}: ${stderr}`, { cause: err });
  }
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
    // some route. The host answers nothing it is not asked for and forwards nothing.
    ip(['-n', node.netns, 'route', 'add', 'default', 'via', plan.hostIp]);
    for (const r of node.routes) ip(['-n', node.netns, 'route', 'add', r.to, 'via', r.via]);
    sysctlIn(node.netns, 'net.ipv4.ip_forward', '1');
    sysctlIn(node.netns, 'net.ipv4.conf.all.rp_filter', '0');
    sysctlIn(node.netns, 'net.bridge.bridge-nf-call-iptables', '1');
  });
}
