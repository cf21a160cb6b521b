// The headers the API server sees: the client's own headers minus everything that could
// change who the request runs as, plus Impersonate-User/-Group for the authenticated
// person, prefixed with "plexus:" so no shared identity can become a `system:` user or
// group. Any Impersonate-* header from the client (any case, repeated, -Extra-*, -Uid)
// refuses the whole request: it is never stripped silently. The one exception is
// kubectl's own --as/--as-group (exactly one Impersonate-User, any Impersonate-Group, nothing
// else): the proxy reports it as an `as` request, and server.ts lets it through only if a
// SubjectAccessReview says the person's own RBAC permits that impersonation.
import type { OutgoingHttpHeaders } from 'node:http';
import { SUBJECT_PREFIX } from '../../broker/api/users.ts';
import type { ProxyIdentity } from './authn.ts';

/** What kubectl --as/--as-group asked for. */
export interface AsRequest { readonly user: string; readonly groups: readonly string[] }

export type HeaderDecision =
  | { readonly ok: true; readonly headers: OutgoingHttpHeaders }
  | { readonly ok: false; readonly header: string; readonly as?: { readonly request: AsRequest; readonly headers: OutgoingHttpHeaders } };

/** Impersonate-User once plus Impersonate-Group: kubectl's --as; anything else is not. */
function asRequestOf(rawHeaders: readonly string[]): AsRequest | undefined {
  const users: string[] = [];
  const groups: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (!isImpersonationHeader(lower)) continue;
    if (lower === 'impersonate-user') users.push(rawHeaders[i + 1]!);
    else if (lower === 'impersonate-group') groups.push(rawHeaders[i + 1]!);
    else return undefined;
  }
  return users.length === 1 && users[0]!.trim() !== '' ? { user: users[0]!, groups } : undefined;
}

/** Hop-by-hop (RFC 9110 §7.6.1) and credentials that belong to the client's connection, not the agent's. */
const DROPPED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'authorization', 'cookie',
]);

/** Front-proxy headers (requestheader authn): the API server trusts them only from its front proxy, but never forward them. */
const isRemoteIdentityHeader = (lower: string) => lower.startsWith('x-remote-');

/** Callers pass the name already lowercased (every header of every request goes through here). */
const isImpersonationHeader = (lower: string) => lower.startsWith('impersonate-');

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
  let refused: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (isImpersonationHeader(lower)) {
      refused ??= name;
      continue;
    }
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
  if (refused !== undefined) {
    const as = asRequestOf(rawHeaders);
    if (!as) return { ok: false, header: refused };
    const headers = { ...out, 'impersonate-user': as.user, ...(as.groups.length ? { 'impersonate-group': [...as.groups] } : {}) };
    return { ok: false, header: refused, as: { request: as, headers } };
  }
  return { ok: true, headers: { ...out, ...impersonationHeaders(identity) } };
}
