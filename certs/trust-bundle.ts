// The set of roots a party trusts. Holding several roots is what makes CA rotation
// possible without downtime: add the new root, re-issue, then remove the old one.
// Immutable: with/without return new bundles, so a bundle in use never changes under a
// verification in flight.
import './setup.ts';
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, SubjectKeyIdentifierExtension } from '@peculiar/x509';
import type { X509Certificate } from '@peculiar/x509';
import { certificateParts, keyIdentifier } from './certificate-der.ts';
import { CertError } from './errors.ts';
import { keyAlgorithmOf } from './keys.ts';
import { certificatesFromPem, certificateToPem, fingerprintSha256 } from './pem.ts';

/** What verification needs from a root, computed once when the bundle is built. */
export interface TrustedRoot {
  readonly cert: X509Certificate;
  readonly fingerprint: string;
  /** DER subject Name, compared byte for byte with a leaf's issuer. */
  readonly subject: Uint8Array;
  /** Subject key identifier, compared with a leaf's authority key identifier. */
  readonly keyId: Uint8Array;
  readonly publicKey: KeyObject;
  readonly family: 'ec' | 'rsa';
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function prepareRoot(cert: X509Certificate): TrustedRoot {
  try {
    return readRoot(cert);
  } catch (cause) {
    if (cause instanceof CertError) throw cause;
    throw new CertError('PLX_CERTS_BAD_PEM', `root ${fingerprintSha256(cert)} is malformed`, { cause });
  }
}

function readRoot(cert: X509Certificate): TrustedRoot {
  const fingerprint = fingerprintSha256(cert);
  const parts = certificateParts(new Uint8Array(cert.rawData));
  const constraints = cert.getExtension(BasicConstraintsExtension);
  const usage = cert.getExtension(KeyUsagesExtension);
  if (!constraints?.ca || (usage && (usage.usages & KeyUsageFlags.keyCertSign) === 0)) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', `certificate ${fingerprint} is not a CA certificate`);
  }
  const publicKey = createPublicKey({ key: Buffer.from(parts.spki), format: 'der', type: 'spki' });
  const ski = cert.getExtension(SubjectKeyIdentifierExtension);
  return {
    cert,
    fingerprint,
    subject: parts.subject,
    keyId: ski ? new Uint8Array(Buffer.from(ski.keyId, 'hex')) : keyIdentifier(parts.spki),
    publicKey,
    family: keyAlgorithmOf(publicKey) === 'P-256' ? 'ec' : 'rsa',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

export class TrustBundle {
  readonly roots: readonly X509Certificate[];
  readonly #trusted: readonly TrustedRoot[];

  private constructor(trusted: readonly TrustedRoot[]) {
    if (trusted.length === 0) throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'a trust bundle needs at least one root');
    this.#trusted = Object.freeze([...trusted]);
    this.roots = Object.freeze(trusted.map((t) => t.cert));
  }

  /** One or more CA certificates in PEM; duplicates collapse to one. */
  static fromPem(pem: string): TrustBundle {
    return TrustBundle.#of(certificatesFromPem(pem).map(prepareRoot));
  }

  static #of(roots: readonly TrustedRoot[]): TrustBundle {
    const seen = new Set<string>();
    return new TrustBundle(roots.filter((r) => !seen.has(r.fingerprint) && seen.add(r.fingerprint)));
  }

  /** Verification's view of the roots (internal to certs/). */
  static trustedRoots(bundle: TrustBundle): readonly TrustedRoot[] {
    return bundle.#trusted;
  }

  toPem(): string {
    return this.roots.map(certificateToPem).join('');
  }

  fingerprints(): string[] {
    return this.#trusted.map((t) => t.fingerprint);
  }

  has(fingerprint: string): boolean {
    return this.#trusted.some((t) => t.fingerprint === fingerprint);
  }

  /** A bundle that also trusts `cert` (unchanged if already present). */
  with(cert: X509Certificate): TrustBundle {
    return TrustBundle.#of([...this.#trusted, prepareRoot(cert)]);
  }

  /**
   * A bundle of only the root of that fingerprint (a pin), or undefined when it is not
   * here. First contact trusts exactly this, never the rest of an unauthenticated bundle.
   */
  only(fingerprint: string): TrustBundle | undefined {
    const root = this.#trusted.find((t) => t.fingerprint === fingerprint);
    return root ? new TrustBundle([root]) : undefined;
  }

  /**
   * A bundle without the root of that fingerprint. Removing an absent root is a no-op;
   * removing the last root is PLX_CERTS_BAD_ARGUMENT (an empty bundle trusts nothing).
   */
  without(fingerprint: string): TrustBundle {
    if (!this.has(fingerprint)) return this;
    return new TrustBundle(this.#trusted.filter((t) => t.fingerprint !== fingerprint));
  }
}
