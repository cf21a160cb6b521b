// The addresses `ns.dns.<zone>` (the apex NS and the SOA mname) answers with: where this
// server can be reached. A server bound to one address names that one; a wildcard bind
// (0.0.0.0, ::, in a cluster) names the host's non-internal addresses, that is the pod IP
// that CoreDNS's stub domain (through the agent's Service) reaches, or loopback when
// there is none.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

const WILDCARD = new Set(['0.0.0.0', '::', '']);

export function nameserverAddresses(listenHost: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  if (!WILDCARD.has(listenHost)) return [listenHost === 'localhost' ? '127.0.0.1' : listenHost];
  const v6 = listenHost === '::';
  const found = Object.values(interfaces).flatMap((list) => list ?? [])
    .filter((i) => !i.internal && (i.family === 'IPv4' || (v6 && i.family === 'IPv6' && !i.address.startsWith('fe80:'))))
    .map((i) => i.address);
  return found.length > 0 ? [...new Set(found)] : [v6 ? '::1' : '127.0.0.1'];
}
