// The headers the API server sees: the client's own headers minus everything that could
// change who the request runs as, plus Impersonate-User/-Group for the authenticated
// person, prefixed with "plexus:" so no shared identity can become a `system:` user or
// group. Any Impersonate-* header from the client (any case, repeated, -Extra-*, -Uid)
// refuses the whole request: it is never stripped silently and never passed through.
// kubectl --as/--as-group therefore fail with PLX_AGENT_PROXY_IMPERSONATION_REFUSED.
import type { OutgoingHttpHeaders } from 'node:http';
import { SUBJECT_PREFIX } from '../../broker/api/users.ts';
import type { ProxyIdentity } from './authn.ts';

export type HeaderDecision =
  | { readonly ok: true; readonly headers: OutgoingHttpHeaders }
  | { readonly ok: false; readonly header: string };

/** Hop-by-hop (RFC 9110 §7.6.1) and credentials that belong to the client's connection, not the agent's. */
const DROPPED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie',
]);

/** Front-proxy headers (requestheader authn): the API server trusts them only from its front proxy, but never forward them. */
const isRemoteIdentityHeader = (lower: string) => lower.startsWith('x-remote-');

export function isImpersonationHeader(name: string): boolean {
  return name.toLowerCase().startsWith('impersonate-');
}

export function impersonationHeaders(identity: ProxyIdentity): { 'impersonate-user': string; 'impersonate-group'?: string[] } {
  const user = `${SUBJECT_PREFIX}${identity.user}`;
  if (identity.groups.length === 0) return { 'impersonate-user': user };
  return { 'impersonate-user': user, 'impersonate-group': identity.groups.map((g) => `${SUBJECT_PREFIX}${g}`) };
}

function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

/**
 * `rawHeaders` is Node's flat [name, value, …] list exactly as received, so repeated and
 * oddly cased headers are all seen. With `upgrade`, the Connection/Upgrade pair is kept.
 */
export function upstreamHeaders(rawHeaders: readonly string[], identity: ProxyIdentity, o: { upgrade: boolean }): HeaderDecision {
  const listed = connectionTokens(rawHeaders);
  const out: Record<string, string | string[]> = {};
  let upgradeValue: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isImpersonationHeader(lower)) return { ok: false, header: name };
    if (lower === 'upgrade') upgradeValue = rawHeaders[i + 1]!;
    if (DROPPED.has(lower) || listed.has(lower) || isRemoteIdentityHeader(lower)) continue;
    const value = rawHeaders[i + 1]!;
    const prev = out[lower];
    out[lower] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  if (o.upgrade && upgradeValue !== undefined) {
    out.connection = 'Upgrade';
    out.upgrade = upgradeValue;
  }
  return { ok: true, headers: { ...out, ...impersonationHeaders(identity) } };
}
