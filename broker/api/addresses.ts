// Addresses of the wire contract, in one place for the broker, the agent and the CLI:
// "HOST:PORT" listen addresses, the URL a client dials for a server bound to one, and the
// https URLs (broker, probe, proxy, API server) every client refuses anything else for.
import { isIP } from 'node:net';
import { z } from 'zod';
import { isDnsName } from './names.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * "host:port" or "[v6]:port", the host an IP address or a DNS name; returns a problem
 * string naming `what` instead of throwing, so configs can report every problem at once.
 */
export function parseHostPort(what: string, s: string): HostPort | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return `${what} "${s}" must be HOST:PORT (use [addr]:PORT for IPv6)`;
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (port > 65535) return `${what} port ${port} is out of range 0-65535`;
  if (m[1] !== undefined && isIP(host) !== 6) return `${what} host "${host}" in brackets must be an IPv6 address`;
  if (!isIP(host) && !isDnsName(host.toLowerCase())) return `${what} host "${host}" is neither an IP address nor a DNS name`;
  return { host, port };
}

/** The host a client dials for a server bound to `host`: a wildcard bind (0.0.0.0, ::) is dialled on loopback. */
export function dialableHost(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/** Where a client dials a server bound to `host`:`port`; IPv6 in brackets. */
export function dialableUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const dialable = dialableHost(host);
  return `${scheme}://${isIP(dialable) === 6 ? `[${dialable}]` : dialable}:${port}`;
}

export type HttpsUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly problem: 'not-a-url' | 'not-https' | 'userinfo'; readonly message: string };

/**
 * An absolute https URL without a user name or password (they would be sent nowhere and
 * logged everywhere). `what` names the URL in the message, e.g. "broker URL".
 */
export function checkHttpsUrl(what: string, raw: string): HttpsUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'not-a-url', message: `${what} "${raw}" is not a URL (expected https://HOST:PORT)` };
  }
  if (url.protocol !== 'https:') return { ok: false, problem: 'not-https', message: `${what} must use https, not ${url.protocol}` };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, problem: 'userinfo', message: `${what} must not carry a user name or password` };
  }
  return { ok: true, url };
}

/** The same rule on the wire: probe and proxy URLs in advertisements. */
export const httpsUrlSchema = z.string().max(2048).refine((s) => checkHttpsUrl('URL', s).ok, 'must be an https URL without a user name or password');
