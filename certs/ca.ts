// The clusterset's root CA: created once, loaded at broker start, then used for every
// issuance. A loaded CA carries what issuing needs (raw subject, key id, Node signing
// key) computed once, so the issuance hot path does no parsing of the CA at all.
import './setup.ts';
import { createPublicKey, getRandomValues } from 'node:crypto';
import type { KeyObject, webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import type { X509Certificate } from '@peculiar/x509';
import { certificateParts, keyIdentifier } from './certificate-der.ts';
import { equalBytes } from './der.ts';
import { CertError } from './errors.ts';
import { hasControlCharacter, validateTrustDomain } from './identity.ts';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, nodeKeyOf, webCryptoSignParams } from './keys.ts';
import type { KeyAlgorithm } from './keys.ts';
import { certificatesFromPem, certificateToPem } from './pem.ts';
import { signatureAlgorithmDer } from './signature.ts';

type CryptoKey = webcrypto.CryptoKey;

export interface CertificateAuthority {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly key: CryptoKey;
}

/** What issuing a leaf needs from its CA. */
export interface CaSigner {
  /** DER subject Name of the CA: copied verbatim as each leaf's issuer. */
  readonly subject: Uint8Array;
  /** The CA's subject key identifier: each leaf's authority key identifier. */
  readonly keyId: Uint8Array;
  readonly algorithm: KeyAlgorithm;
  /** DER AlgorithmIdentifier of the CA's signatures. */
  readonly signatureAlgorithm: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly privateKey: KeyObject;
}

const DAY_MS = 86_400_000;
/** Allowance for clocks that run behind ours. */
export const CLOCK_SKEW_MS = 60_000;

class LoadedCa implements CertificateAuthority {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly key: CryptoKey;
  readonly #signer: CaSigner;

  constructor(cert: X509Certificate, certPem: string, key: CryptoKey, signer: CaSigner) {
    this.cert = cert;
    this.certPem = certPem;
    this.key = key;
    this.#signer = signer;
  }

  static signerOf(ca: CertificateAuthority): CaSigner | undefined {
    return #signer in ca ? (ca as LoadedCa).#signer : undefined;
  }
}

/** 16 random bytes, positive and minimal as a DER INTEGER (top bits 01). */
export function randomSerial(): Uint8Array {
  const serial = getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/**
 * Computes the signer for a certificate and key, checking that the key matches the
 * certificate and that the certificate may sign certificates.
 */
export function prepareSigner(cert: X509Certificate, key: CryptoKey): CaSigner {
  const parts = certificateParts(new Uint8Array(cert.rawData));
  const { keyObject, algorithm } = nodeKeyOf(key);
  if (keyObject.type !== 'private') throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'CA key must be a private key');
  const publicSpki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  if (!equalBytes(new Uint8Array(publicSpki), parts.spki)) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'CA private key does not match the CA certificate');
  }
  const constraints = cert.getExtension(BasicConstraintsExtension);
  const usage = cert.getExtension(KeyUsagesExtension);
  if (!constraints?.ca || !usage || (usage.usages & KeyUsageFlags.keyCertSign) === 0) {
    throw new CertError('PLX_CERTS_KEY_USAGE', 'certificate is not a CA allowed to sign certificates');
  }
  const ski = cert.getExtension(SubjectKeyIdentifierExtension);
  return {
    subject: parts.subject,
    keyId: ski ? new Uint8Array(Buffer.from(ski.keyId, 'hex')) : keyIdentifier(parts.spki),
    algorithm,
    signatureAlgorithm: signatureAlgorithmDer(algorithm),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    privateKey: keyObject,
  };
}

/** The signer of a CA: cached on CAs from createRootCa/loadCa, computed for any other object. */
export function caSigner(ca: CertificateAuthority): CaSigner {
  return LoadedCa.signerOf(ca) ?? prepareSigner(ca.cert, ca.key);
}

function validDate(d: Date, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new CertError('PLX_CERTS_BAD_ARGUMENT', `${what} must be a valid Date`);
  return d;
}

function defaultCommonName(clusterset: string, now: Date): string {
  // The date and a random suffix give a rotated root a subject distinct from the root it
  // replaces, so both can sit in one trust bundle and issuers are told apart by name.
  const suffix = Buffer.from(getRandomValues(new Uint8Array(4))).toString('hex');
  return `Plexus root CA (${clusterset}) ${now.toISOString().slice(0, 10)} ${suffix}`;
}

export async function createRootCa(o: {
  clusterset: string;
  now: Date;
  algorithm?: KeyAlgorithm;
  validityDays?: number;
  commonName?: string;
}): Promise<{ ca: CertificateAuthority; keyPem: string }> {
  validateTrustDomain(o.clusterset);
  const now = validDate(o.now, 'now');
  const days = o.validityDays ?? 3650;
  if (!Number.isFinite(days) || days <= 0 || days > 36_500) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'validityDays must be in (0, 36500]');
  }
  const commonName = o.commonName ?? defaultCommonName(o.clusterset, now);
  if (typeof commonName !== 'string' || commonName.trim() !== commonName || commonName === '' || hasControlCharacter(commonName)) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'commonName must be non-empty printable text');
  }
  const algorithm = o.algorithm ?? 'P-256';
  const keys = await generateKeyPair(algorithm);
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(randomSerial()).toString('hex'),
    name: new Name([{ O: [{ utf8String: 'plexus' }] }, { CN: [{ utf8String: commonName }] }]),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    keys,
    signingAlgorithm: webCryptoSignParams(algorithm),
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = certificateToPem(cert);
  const ca = new LoadedCa(cert, certPem, keys.privateKey, prepareSigner(cert, keys.privateKey));
  return { ca, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Loads a CA from PEM, checking the key matches the certificate and that it is a CA. */
export async function loadCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const certs = certificatesFromPem(certPem);
  if (certs.length !== 1) throw new CertError('PLX_CERTS_BAD_PEM', `expected one CA certificate, found ${certs.length}`);
  const cert = certs[0]!;
  const key = await importPrivateKeyPem(keyPem);
  let signer: CaSigner;
  try {
    signer = prepareSigner(cert, key);
  } catch (cause) {
    if (cause instanceof CertError) throw cause;
    throw new CertError('PLX_CERTS_BAD_PEM', 'CA certificate is malformed', { cause });
  }
  return new LoadedCa(cert, certificateToPem(cert), key, signer);
}
