// SPIFFE-style identities: spiffe://<trustDomain>/<kind>/<name>.
//
// Parsing is a whole-string match against a closed grammar, never a URL parser: URL
// parsers normalise ("%61" → "a", "/a/../b" → "/b", "ACME" → "acme"), and any
// normalisation before an authorisation decision lets two spellings name one identity.
// Comparison is field-by-field equality, never prefix or substring, so cluster "a" is
// not cluster "ab" and trust domain "acme" is not "acme.evil".
import { DNS_LABEL, GROUP_NAME, PERSON_NAME, isDnsName } from './dns-name.ts';
import { CertError } from './errors.ts';

export type IdentityKind = 'cluster' | 'user' | 'admin';

export interface Identity {
  readonly trustDomain: string;
  readonly kind: IdentityKind;
  readonly name: string;
}

const SCHEME = 'spiffe://';
const KINDS: readonly IdentityKind[] = ['cluster', 'user', 'admin'];

function bad(message: string): CertError {
  return new CertError('PLX_CERTS_BAD_IDENTITY', message);
}

/** A lowercase DNS name of at most 253 characters, without a trailing dot. */
export function validateTrustDomain(s: string): void {
  if (typeof s !== 'string' || s.length === 0 || s.length > 253) {
    throw bad('trust domain must be 1..253 characters');
  }
  if (!isDnsName(s)) throw bad(`trust domain ${JSON.stringify(s)} is not a lowercase DNS name`);
}

/** cluster: an RFC-1123 label; user/admin: [a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?. */
export function validateName(kind: IdentityKind, s: string): void {
  if (!KINDS.includes(kind)) throw bad(`unknown identity kind ${JSON.stringify(kind)}`);
  const pattern = kind === 'cluster' ? DNS_LABEL : PERSON_NAME;
  if (typeof s !== 'string' || !pattern.test(s)) {
    throw bad(`${JSON.stringify(s)} is not a valid ${kind} name`);
  }
}

/** A Kubernetes group as carried in a certificate's O= (e.g. "system:masters"). */
export function validateGroup(s: string): void {
  if (typeof s !== 'string' || !GROUP_NAME.test(s)) throw bad(`${JSON.stringify(s)} is not a valid group`);
}

/**
 * A subject CN (for a person, the Kubernetes user name): 1..64 characters
 * (RFC 5280 ub-common-name), no control characters, no surrounding whitespace.
 * Throws PLX_CERTS_BAD_ARGUMENT.
 */
export function validateCommonName(s: string): void {
  const ok = typeof s === 'string' && s.length > 0 && s.length <= 64 && s.trim() === s && !hasControlCharacter(s);
  if (!ok) throw new CertError('PLX_CERTS_BAD_ARGUMENT', `${JSON.stringify(s)} is not a valid common name`);
}

export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return true;
  }
  return false;
}

export function parseIdentity(uri: string): Identity {
  if (typeof uri !== 'string' || !uri.startsWith(SCHEME)) throw bad('identity must start with spiffe://');
  const parts = uri.slice(SCHEME.length).split('/');
  if (parts.length !== 3) throw bad('identity must be spiffe://<trust domain>/<kind>/<name>');
  const [trustDomain, kind, name] = parts as [string, string, string];
  validateTrustDomain(trustDomain);
  if (!(KINDS as readonly string[]).includes(kind)) throw bad(`unknown identity kind ${JSON.stringify(kind)}`);
  validateName(kind as IdentityKind, name);
  return Object.freeze({ trustDomain, kind: kind as IdentityKind, name });
}

export function formatIdentity(id: Identity): string {
  validateTrustDomain(id.trustDomain);
  validateName(id.kind, id.name);
  return `${SCHEME}${id.trustDomain}/${id.kind}/${id.name}`;
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.trustDomain === b.trustDomain && a.kind === b.kind && a.name === b.name;
}
