// Issuing leaf certificates from a CA and a public key (which came from a verified CSR:
// the leaf's private key never leaves the machine that generated it).
import './setup.ts';
import type { webcrypto } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { X509Certificate } from '@peculiar/x509';
import { caSigner, CLOCK_SKEW_MS, randomSerial } from './ca.ts';
import type { CertificateAuthority } from './ca.ts';
import { keyIdentifier } from './certificate-der.ts';
import { bitString, sequence } from './der.ts';
import { isSanDnsName } from './dns-name.ts';
import { CertError } from './errors.ts';
import { formatIdentity, validateCommonName, validateGroup } from './identity.ts';
import type { Identity } from './identity.ts';
import { nodeKeyOf } from './keys.ts';
import { encodeLeafTbs } from './leaf-tbs.ts';
import type { ExtendedUsage, LeafTemplate } from './leaf-tbs.ts';
import { certificateFromDer, encodePem } from './pem.ts';
import { signData } from './signature.ts';

type CryptoKey = webcrypto.CryptoKey;

export type { ExtendedUsage } from './leaf-tbs.ts';

export interface IssueOptions {
  ca: CertificateAuthority;
  publicKey: CryptoKey;
  commonName: string;
  organizations?: string[];
  /** Becomes the only URI SAN. */
  identity?: Identity;
  dnsNames?: string[];
  ipAddresses?: string[];
  usages: ExtendedUsage[];
  lifetimeSeconds: number;
  /** notBefore = now - 60 s (clock skew); notAfter = now + lifetime, capped at the CA's notAfter. */
  now: Date;
}

export interface IssuedCertificate {
  certPem: string;
  cert: X509Certificate;
  /** Lowercase hex. */
  serial: string;
  notAfter: Date;
}

function badArgument(message: string): CertError {
  return new CertError('PLX_CERTS_BAD_ARGUMENT', message);
}

function ipv4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

/** IPv6 text (already checked by isIPv6) → 16 bytes; handles "::" and a dotted IPv4 tail. */
export function ipv6Bytes(s: string): Uint8Array {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(dotted);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', rest] = text.split('::');
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length - tail.length;
  const groups = [...left, ...new Array<number>(zeros).fill(0), ...right, ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function ipBytes(s: string): Uint8Array {
  if (isIPv4(s)) return Uint8Array.from(ipv4Bytes(s));
  if (isIPv6(s) && !s.includes('%')) return ipv6Bytes(s);
  throw badArgument(`${JSON.stringify(s)} is not an IP address`);
}

function checkedUsages(usages: ExtendedUsage[]): ExtendedUsage[] {
  if (!Array.isArray(usages) || usages.length === 0) throw badArgument('usages must name serverAuth and/or clientAuth');
  for (const u of usages) if (u !== 'serverAuth' && u !== 'clientAuth') throw badArgument(`unknown usage ${JSON.stringify(u)}`);
  return (['serverAuth', 'clientAuth'] as const).filter((u) => usages.includes(u));
}

function validity(o: IssueOptions, caNotBefore: Date, caNotAfter: Date): { notBefore: Date; notAfter: Date } {
  const now = o.now instanceof Date ? o.now.getTime() : NaN;
  if (Number.isNaN(now)) throw badArgument('now must be a valid Date');
  if (!Number.isFinite(o.lifetimeSeconds) || o.lifetimeSeconds < 1) throw badArgument('lifetimeSeconds must be >= 1');
  if (now > caNotAfter.getTime()) throw new CertError('PLX_CERTS_EXPIRED', 'the CA has expired');
  if (now < caNotBefore.getTime()) throw new CertError('PLX_CERTS_NOT_YET_VALID', 'the CA is not yet valid');
  // Certificates carry whole seconds; round down so the returned dates equal the encoded ones.
  const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notAfter = Math.min(now + o.lifetimeSeconds * 1000, caNotAfter.getTime());
  return { notBefore: seconds(now - CLOCK_SKEW_MS), notAfter: seconds(notAfter) };
}

/** Validates the options into a template (exported for the reference-path test). */
export function leafTemplate(o: IssueOptions, caNotBefore: Date, caNotAfter: Date): LeafTemplate {
  validateCommonName(o.commonName);
  const organizations = [...(o.organizations ?? [])];
  organizations.forEach(validateGroup);
  const dnsNames = [...(o.dnsNames ?? [])];
  for (const d of dnsNames) {
    if (!isSanDnsName(d)) throw badArgument(`${JSON.stringify(d)} is not a DNS name`);
  }
  const { keyObject, algorithm } = nodeKeyOf(o.publicKey);
  if (keyObject.type !== 'public') throw badArgument('publicKey must be a public key');
  const spki = new Uint8Array(keyObject.export({ type: 'spki', format: 'der' }));
  return {
    serial: randomSerial(),
    ...validity(o, caNotBefore, caNotAfter),
    commonName: o.commonName,
    organizations,
    spki,
    keyAlgorithm: algorithm,
    subjectKeyId: keyIdentifier(spki),
    ...(o.identity ? { uri: formatIdentity(o.identity) } : {}),
    dnsNames,
    ipAddresses: (o.ipAddresses ?? []).map(ipBytes),
    usages: checkedUsages(o.usages),
  };
}

/**
 * Leaves: basicConstraints CA:false (critical), keyUsage digitalSignature (+keyEncipherment
 * for RSA keys, critical), extKeyUsage, SKI, AKI; random 16-byte positive serial.
 */
export async function issueCertificate(o: IssueOptions): Promise<IssuedCertificate> {
  if (!o || typeof o !== 'object' || !o.ca) throw badArgument('issueCertificate needs a CA');
  const signer = caSigner(o.ca);
  const template = leafTemplate(o, signer.notBefore, signer.notAfter);
  const tbs = encodeLeafTbs(template, signer);
  const der = sequence(tbs, signer.signatureAlgorithm, bitString(signData(signer.privateKey, tbs)));
  // Parsing the new certificate back into an X509Certificate costs as much as the rest of
  // issuance; most callers only store certPem, so it is parsed on first access.
  let cert: X509Certificate | undefined;
  return {
    certPem: encodePem(der, 'CERTIFICATE'),
    get cert() {
      cert ??= certificateFromDer(der);
      return cert;
    },
    serial: Buffer.from(template.serial).toString('hex'),
    notAfter: template.notAfter,
  };
}
