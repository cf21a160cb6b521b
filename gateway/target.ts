// The stream target a sending gateway asks for, carried as the HTTP/2 CONNECT authority:
// `<name>.<namespace>.svc:<port>`. A service name, never an address: the receiving gateway
// maps it through its export table, so it can only ever reach what its cluster exports
// and is never a relay to an arbitrary host. Parsing is a whole-string match against a
// closed grammar (no URL parser, no lowercasing, no trailing dot, no leading zeros), so two
// spellings never name one target.
import { DNS_LABEL } from '../certs/dns-name.ts';

export interface ServiceTarget {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
}

// A Service name is an RFC-1035 label (it starts with a letter); a namespace an RFC-1123 label.
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/** The target named by a CONNECT authority, or undefined when it is not exactly one (bad-target). */
export function parseTarget(authority: string | undefined): ServiceTarget | undefined {
  if (typeof authority !== 'string' || authority.length > 200) return undefined;
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = authority.slice(0, colon);
  const portText = authority.slice(colon + 1);
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  const labels = host.split('.');
  if (labels.length !== 3 || labels[2] !== 'svc') return undefined;
  const [name, namespace] = labels as [string, string];
  if (!SERVICE_NAME.test(name) || !DNS_LABEL.test(namespace)) return undefined;
  return Object.freeze({ namespace, name, port });
}

export function formatTarget(t: ServiceTarget): string {
  return `${t.name}.${t.namespace}.svc:${t.port}`;
}

/** The service part, as metrics and logs name it: `<namespace>/<name>`. */
export function serviceKey(t: Pick<ServiceTarget, 'namespace' | 'name'>): string {
  return `${t.namespace}/${t.name}`;
}
