// What a member may publish into the clusterset: the rule the broker enforces on every
// export write (the trust boundary) and every importing agent enforces again on what it is
// relayed (a broker from before this rule, or a compromised one). Pure: no I/O, no logging.
//
// - Namespaces that hold a cluster's own plumbing (kube-system, …) are not exportable by
//   default: an import there would shadow `kube-dns` or the agent itself everywhere.
// - Endpoint addresses that point back into the importing node (loopback, link-local, which
//   includes the 169.254.169.254 metadata service, unspecified, multicast, broadcast, and IPv4-mapped
//   IPv6 that could hide any of these) are refused (Lighthouse #2246, #2255: FACTS.md).
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { BrokerErrorCode } from './errors.ts';

/** The broker's default for `--protected-namespaces`, and the agent's. */
export const DEFAULT_PROTECTED_NAMESPACES: readonly string[] = Object.freeze(['kube-system', 'kube-public', 'kube-node-lease', 'plexus-system']);

export type RefusedAddressKind = 'loopback' | 'link-local' | 'unspecified' | 'multicast' | 'broadcast' | 'ipv4-mapped';

const RANGES: readonly [RefusedAddressKind, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['broadcast', '255.255.255.255', 32, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
  ['ipv4-mapped', '::ffff:0:0', 96, 'ipv6'],
];

const LISTS = RANGES.map(([kind, net, prefix, type]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, type);
  return { kind, list, type };
});

/** Why `ip` must not be relayed, or undefined when it may. A non-IP string is refused as unspecified. */
export function refusedAddressKind(ip: string): RefusedAddressKind | undefined {
  const type = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!type) return 'unspecified';
  for (const l of LISTS) if (l.type === type && l.list.check(ip, type)) return l.kind;
  return undefined;
}

export interface ExportRefusal {
  readonly code: Extract<BrokerErrorCode, 'PLX_BROKER_EXPORT_PROTECTED_NAMESPACE' | 'PLX_BROKER_EXPORT_ADDRESS_REFUSED'>;
  readonly message: string;
}

/** What the guard reads of an export (ExportSpec and ExportRecord have more). */
export interface GuardedExport {
  readonly namespace: string;
  readonly name: string;
  readonly endpoints: readonly { readonly addresses: readonly string[] }[];
}

/** The first reason the export must be refused as a whole, or undefined. */
export function exportRefusal(e: GuardedExport, protectedNamespaces: readonly string[]): ExportRefusal | undefined {
  const key = `${e.namespace}/${e.name}`;
  if (protectedNamespaces.includes(e.namespace)) {
    return { code: 'PLX_BROKER_EXPORT_PROTECTED_NAMESPACE', message: `export ${key} refused: namespace "${e.namespace}" is protected (broker --protected-namespaces)` };
  }
  for (const ep of e.endpoints) {
    for (const a of ep.addresses) {
      const kind = refusedAddressKind(a);
      if (kind) return { code: 'PLX_BROKER_EXPORT_ADDRESS_REFUSED', message: `export ${key} refused: endpoint address ${a} is ${kind}` };
    }
  }
  return undefined;
}
