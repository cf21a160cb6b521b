// The headers the API server sees: the client's own headers minus everything that could
// change who the request runs as, plus Impersonate-User/-Group for the authenticated
// person, prefixed with "plexus:" so no shared identity can become a `system:` user or
// group. Hop-by-hop headers go first, before any other decision: the standard set and
// every header the client's Connection header names (RFC 9110 §7.6.1), so a header that
// was meant for this hop only is never read as impersonation. Any Impersonate-* header that
// is left refuses the whole request: it is never stripped silently. The one exception is
// kubectl's own --as/--as-group/--as-uid/extras (exactly one Impersonate-User, any
// Impersonate-Group, at most one Impersonate-Uid, any Impersonate-Extra-<key>): the proxy
// reports it as an `as` request, and server.ts lets it through only if a
// SubjectAccessReview per attribute says the person's own RBAC permits it (access-review.ts).
import type { OutgoingHttpHeaders } from 'node:http';
import { SUBJECT_PREFIX } from '../../broker/api/users.ts';
import type { ProxyIdentity } from './authn.ts';

/** What kubectl --as/--as-group/--as-uid (and Impersonate-Extra-*) asked for. */
export interface AsRequest {
  readonly user: string;
  readonly groups: readonly string[];
  readonly uid?: string;
  /** Key as the API server reads it (lowercased, %-decoded) → values, in the order sent. */
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export type HeaderDecision =
  | { readonly ok: true; readonly headers: OutgoingHttpHeaders }
  | { readonly ok: false; readonly header: string; readonly as?: { readonly request: AsRequest; readonly headers: OutgoingHttpHeaders } };

const EXTRA_PREFIX = 'impersonate-extra-';

/**
 * The extra key the API server derives from a header name (already lowercased): the rest
 * after the prefix, %-decoded. Undefined for a key the proxy will not vouch for: empty, or
 * one whose decoding is not plain (the API server keeps malformed keys undecoded, and
 * decodes to bytes that need not be UTF-8; neither is worth matching here).
 */
function extraKeyOf(lower: string): string | undefined {
  const raw = lower.slice(EXTRA_PREFIX.length);
  if (raw === '') return undefined;
  if (!raw.includes('%')) return raw;
  if (!/^(?:[^%]|%[0-9a-f]{2})*$/.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** kubectl's impersonation headers, as the API server reads them; anything else is not an `as` request. */
function asRequestOf(rawHeaders: readonly string[]): AsRequest | undefined {
  const users: string[] = [];
  const groups: string[] = [];
  const uids: string[] = [];
  const extra: Record<string, string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (!isImpersonationHeader(lower)) continue;
    if (lower === 'impersonate-user') users.push(value);
    else if (lower === 'impersonate-group') groups.push(value);
    else if (lower === 'impersonate-uid') uids.push(value);
    else if (lower.startsWith(EXTRA_PREFIX)) {
      const key = extraKeyOf(lower);
      if (key === undefined) return undefined;
      (extra[key] ??= []).push(value);
    } else return undefined;
  }
  if (users.length !== 1 || users[0]!.trim() === '') return undefined;
  // The API server reads only the first of repeated Impersonate-Uid headers: refuse the ambiguity.
  if (uids.length > 1 || (uids.length === 1 && uids[0]!.trim() === '')) return undefined;
  return { user: users[0]!, groups, ...(uids.length === 1 ? { uid: uids[0]! } : {}), extra };
}

/** Credentials that belong to the client's connection, not the agent's (dropped with the hop-by-hop ones). */
const CLIENT_CREDENTIALS = ['host', 'authorization', 'cookie'];

/** Front-proxy headers (requestheader authn): the API server trusts them only from its front proxy, but never forward them. */
const isRemoteIdentityHeader = (lower: string) => lower.startsWith('x-remote-');

/** Callers pass the name already lowercased (every header of every request goes through here). */
const isImpersonationHeader = (lower: string) => lower.startsWith('impersonate-');

export function impersonationHeaders(identity: ProxyIdentity): { 'impersonate-user': string; 'impersonate-group'?: string[] } {
  const user = `${SUBJECT_PREFIX}${identity.user}`;
  if (identity.groups.length === 0) return { 'impersonate-user': user };
  return { 'impersonate-user': user, 'impersonate-group': identity.groups.map((g) => `${SUBJECT_PREFIX}${g}`) };
}

/** Names listed in every Connection header (lowercased): hop-by-hop for this message. */
export function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) {
      const token = t.trim().toLowerCase();
      if (token !== '') tokens.add(token);
    }
  }
  return tokens;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Names not to relay from a message with these raw headers: the standard hop-by-hop set plus those its Connection names. */
export function hopByHopNames(rawHeaders: readonly string[]): Set<string> {
  const names = connectionTokens(rawHeaders);
  for (const n of HOP_BY_HOP) names.add(n);
  return names;
}

/** The client's end-to-end headers: raw [name, value, …] without hop-by-hop ones (the standard set and those named in Connection). */
function endToEnd(rawHeaders: readonly string[]): string[] {
  const dropped = hopByHopNames(rawHeaders);
  for (const n of CLIENT_CREDENTIALS) dropped.add(n);
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (dropped.has(lower)) continue;
    kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

function upgradeOf(rawHeaders: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'upgrade') value = rawHeaders[i + 1]!;
  return value;
}

/** The headers the API server gets for an allowed `as` request: kubectl's own impersonation headers, as sent. */
function asHeaders(e2e: readonly string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < e2e.length; i += 2) {
    const lower = e2e[i]!.toLowerCase();
    if (!isImpersonationHeader(lower)) continue;
    const prev = out[lower];
    out[lower] = prev === undefined ? (lower === 'impersonate-group' || lower.startsWith(EXTRA_PREFIX) ? [e2e[i + 1]!] : e2e[i + 1]!)
      : [...(Array.isArray(prev) ? prev : [prev]), e2e[i + 1]!];
  }
  return out;
}

/**
 * `rawHeaders` is Node's flat [name, value, …] list exactly as received, so repeated and
 * oddly cased headers are all seen. With `upgrade`, the Connection/Upgrade pair is kept.
 */
export function upstreamHeaders(rawHeaders: readonly string[], identity: ProxyIdentity, o: { upgrade: boolean }): HeaderDecision {
  const e2e = endToEnd(rawHeaders);
  const out: Record<string, string | string[]> = {};
  let refused: string | undefined;
  for (let i = 0; i < e2e.length; i += 2) {
    const name = e2e[i]!;
    const lower = name.toLowerCase();
    if (isImpersonationHeader(lower)) {
      refused ??= name;
      continue;
    }
    if (isRemoteIdentityHeader(lower)) continue;
    const value = e2e[i + 1]!;
    const prev = out[lower];
    out[lower] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const upgradeValue = upgradeOf(rawHeaders);
  if (o.upgrade && upgradeValue !== undefined) {
    out.connection = 'Upgrade';
    out.upgrade = upgradeValue;
  }
  if (refused !== undefined) {
    const as = asRequestOf(e2e);
    if (!as) return { ok: false, header: refused };
    return { ok: false, header: refused, as: { request: as, headers: { ...out, ...asHeaders(e2e) } } };
  }
  return { ok: true, headers: { ...out, ...impersonationHeaders(identity) } };
}
