// DER encoding of a leaf's TBSCertificate, straight from a validated template. This is
// the issuance fast path (see der.ts for why); test/support/issue-reference.ts is the
// plain path through @peculiar/x509 and the tests check both produce identical bytes.
import {
  bitString,
  booleanTrue,
  explicit,
  implicitPrimitive,
  oid,
  octetString,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from './der.ts';
import type { CaSigner } from './ca.ts';
import type { KeyAlgorithm } from './keys.ts';

export type ExtendedUsage = 'serverAuth' | 'clientAuth';

/** Everything that goes into a leaf, already validated and normalised. */
export interface LeafTemplate {
  /** Positive big-endian serial, top bit clear. */
  readonly serial: Uint8Array;
  /** Whole seconds. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly commonName: string;
  readonly organizations: readonly string[];
  /** DER SubjectPublicKeyInfo of the leaf key. */
  readonly spki: Uint8Array;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly subjectKeyId: Uint8Array;
  readonly uri?: string;
  readonly dnsNames: readonly string[];
  /** 4 or 16 bytes each. */
  readonly ipAddresses: readonly Uint8Array[];
  readonly usages: readonly ExtendedUsage[];
}

export const EXTENSION_OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

export const USAGE_OID: Record<ExtendedUsage, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

const V3 = explicit(0, unsignedInteger(Uint8Array.of(2)));
const CN = oid('2.5.4.3');
const O = oid('2.5.4.10');
const EXT = Object.fromEntries(Object.entries(EXTENSION_OID).map(([k, v]) => [k, oid(v)])) as Record<
  keyof typeof EXTENSION_OID,
  Uint8Array
>;
const USAGE = { serverAuth: oid(USAGE_OID.serverAuth), clientAuth: oid(USAGE_OID.clientAuth) };
// KeyUsage named bits, DER form (trailing zero bits dropped, unused-bit count set):
// digitalSignature (bit 0) alone, or with keyEncipherment (bit 2) for RSA key transport.
const KEY_USAGE: Record<KeyAlgorithm, Uint8Array> = {
  'P-256': bitString(Uint8Array.of(0x80), 7),
  'RSA-2048': bitString(Uint8Array.of(0xa0), 5),
};
const NOT_A_CA = sequence();

function extension(id: Uint8Array, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(id, booleanTrue(), octetString(value)) : sequence(id, octetString(value));
}

/** Organizations first, then CN, one attribute per RDN (as Kubernetes client certs do). */
export function encodeSubject(commonName: string, organizations: readonly string[]): Uint8Array {
  const rdns = organizations.map((org) => set(sequence(O, utf8String(org))));
  rdns.push(set(sequence(CN, utf8String(commonName))));
  return sequence(...rdns);
}

function subjectAltNames(t: LeafTemplate): Uint8Array | undefined {
  const names: Uint8Array[] = [];
  if (t.uri !== undefined) names.push(implicitPrimitive(6, Buffer.from(t.uri, 'latin1')));
  for (const dns of t.dnsNames) names.push(implicitPrimitive(2, Buffer.from(dns, 'latin1')));
  for (const ip of t.ipAddresses) names.push(implicitPrimitive(7, ip));
  return names.length > 0 ? sequence(...names) : undefined;
}

export function encodeLeafTbs(t: LeafTemplate, ca: CaSigner): Uint8Array {
  const extensions = [
    extension(EXT.basicConstraints, true, NOT_A_CA),
    extension(EXT.keyUsage, true, KEY_USAGE[t.keyAlgorithm]),
    extension(EXT.extKeyUsage, false, sequence(...t.usages.map((u) => USAGE[u]))),
    extension(EXT.subjectKeyIdentifier, false, octetString(t.subjectKeyId)),
    extension(EXT.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, ca.keyId))),
  ];
  const san = subjectAltNames(t);
  if (san) extensions.push(extension(EXT.subjectAltName, false, san));
  return sequence(
    V3,
    unsignedInteger(t.serial),
    ca.signatureAlgorithm,
    ca.subject,
    sequence(time(t.notBefore), time(t.notAfter)),
    encodeSubject(t.commonName, t.organizations),
    t.spki,
    explicit(3, sequence(...extensions)),
  );
}
