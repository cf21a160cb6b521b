// Test-only: crafts certificates this library would never issue (wrong usages, extra URI
// SANs, missing AKI, forged issuers) through @peculiar/x509, so verification can be
// tested against them. Imported only by *.test.ts files.
import '../../certs/setup.ts';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { X509Certificate } from '@peculiar/x509';
import type { webcrypto } from 'node:crypto';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { USAGE_OID } from '../../certs/leaf-tbs.ts';
import type { ExtendedUsage } from '../../certs/leaf-tbs.ts';

type CryptoKey = webcrypto.CryptoKey;

/** A fixed instant for tests: nothing in certs/ reads the clock. */
export const T0 = new Date('2030-06-15T12:00:00.000Z');
export const HOUR_MS = 3_600_000;

export const at = (offsetMs: number, from: Date = T0): Date => new Date(from.getTime() + offsetMs);

export interface CraftOptions {
  issuer: CertificateAuthority;
  publicKey: CryptoKey;
  subject?: Name;
  notBefore?: Date;
  notAfter?: Date;
  usages?: ExtendedUsage[];
  keyUsage?: number;
  isCa?: boolean;
  uris?: string[];
  /** Omit the authority key identifier. */
  noAki?: boolean;
  /** Overrides the AKI key id (hex). */
  akiHex?: string;
  extra?: Extension[];
  /** Signature hash (default SHA-256). */
  hash?: string;
}

export async function craftLeaf(o: CraftOptions): Promise<X509Certificate> {
  const issuerSki = o.issuer.cert.getExtension(SubjectKeyIdentifierExtension)!.keyId;
  const extensions: Extension[] = [
    new BasicConstraintsExtension(o.isCa ?? false, undefined, true),
    new KeyUsagesExtension(o.keyUsage ?? KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension((o.usages ?? ['clientAuth']).map((u) => USAGE_OID[u])),
    await SubjectKeyIdentifierExtension.create(o.publicKey),
    ...(o.noAki ? [] : [new AuthorityKeyIdentifierExtension(o.akiHex ?? issuerSki)]),
    ...(o.uris?.length ? [new SubjectAlternativeNameExtension(o.uris.map((value) => ({ type: 'url' as const, value })))] : []),
    ...(o.extra ?? []),
  ];
  const ec = o.issuer.key.algorithm.name === 'ECDSA';
  return X509CertificateGenerator.create({
    subject: o.subject ?? new Name([{ CN: [{ utf8String: 'crafted' }] }]),
    issuer: o.issuer.cert.subjectName,
    notBefore: o.notBefore ?? at(-HOUR_MS),
    notAfter: o.notAfter ?? at(HOUR_MS),
    publicKey: o.publicKey,
    signingKey: o.issuer.key,
    signingAlgorithm: { name: ec ? 'ECDSA' : 'RSASSA-PKCS1-v1_5', hash: o.hash ?? 'SHA-256' },
    extensions,
  });
}

/** A self-signed CA with a chosen subject (and optionally a chosen SKI), for forgery tests. */
export async function craftRoot(o: {
  keys: webcrypto.CryptoKeyPair;
  subject: Name;
  skiHex?: string;
  notBefore?: Date;
  notAfter?: Date;
  isCa?: boolean;
}): Promise<X509Certificate> {
  return X509CertificateGenerator.createSelfSigned({
    name: o.subject,
    keys: o.keys,
    notBefore: o.notBefore ?? at(-24 * HOUR_MS),
    notAfter: o.notAfter ?? at(365 * 24 * HOUR_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new BasicConstraintsExtension(o.isCa ?? true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      o.skiHex ? new SubjectKeyIdentifierExtension(o.skiHex) : await SubjectKeyIdentifierExtension.create(o.keys.publicKey),
    ],
  });
}

/** Flips one bit of the signature value, leaving the certificate well-formed. */
export function tamperSignature(der: ArrayBuffer): Uint8Array {
  const out = new Uint8Array(der.slice(0));
  out[out.length - 5]! ^= 0x01;
  return out;
}

export { Extension, Name };
