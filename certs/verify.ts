// Verifying a leaf against a multi-root trust bundle. Authenticity comes first (a
// forged certificate is PLX_CERTS_UNTRUSTED whatever else is wrong with it), then time,
// then what the certificate may be used for, then who it names.
//
// The issuer is selected by subject name AND authority key identifier before the
// signature is checked, so during CA rollover (two roots in one bundle, possibly with
// similar names) a leaf is only ever checked against the root that claims to be its issuer.
import './setup.ts';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
} from '@peculiar/x509';
import type { X509Certificate } from '@peculiar/x509';
import { certificateParts } from './certificate-der.ts';
import type { CertificateParts } from './certificate-der.ts';
import { equalBytes } from './der.ts';
import { CertError, type CertErrorCode } from './errors.ts';
import { parseIdentity } from './identity.ts';
import type { Identity } from './identity.ts';
import { EXTENSION_OID, USAGE_OID } from './leaf-tbs.ts';
import type { ExtendedUsage } from './leaf-tbs.ts';
import { certificatesFromPem } from './pem.ts';
import { verifyData } from './signature.ts';
import { TrustBundle } from './trust-bundle.ts';
import type { TrustedRoot } from './trust-bundle.ts';

export interface VerifiedLeaf {
  readonly identity?: Identity;
  readonly commonName: string;
  readonly organizations: string[];
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly issuerFingerprint: string;
}

export interface VerifyOptions {
  certPem: string | X509Certificate;
  bundle: TrustBundle;
  now: Date;
  usage: ExtendedUsage;
  /** If set, the leaf's identity must name exactly this trust domain. */
  trustDomain?: string;
}

const KNOWN_EXTENSIONS = new Set<string>(Object.values(EXTENSION_OID));

function fail(code: Extract<CertErrorCode, 'PLX_CERTS_UNTRUSTED' | 'PLX_CERTS_KEY_USAGE' | 'PLX_CERTS_BAD_IDENTITY'>, message: string): CertError {
  return new CertError(code, message);
}

function findIssuer(cert: X509Certificate, parts: CertificateParts, bundle: TrustBundle): TrustedRoot {
  const aki = cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase();
  if (!aki) throw fail('PLX_CERTS_UNTRUSTED', 'certificate has no authority key identifier');
  if (!parts.algorithmsAgree || parts.signatureFamily === null) {
    throw fail('PLX_CERTS_UNTRUSTED', 'certificate signature algorithm is unsupported or inconsistent');
  }
  for (const root of TrustBundle.trustedRoots(bundle)) {
    if (!equalBytes(root.subject, parts.issuer)) continue;
    if (Buffer.from(root.keyId).toString('hex') !== aki || root.family !== parts.signatureFamily) continue;
    if (verifyData(root.publicKey, parts.signed, parts.signature)) return root;
  }
  throw fail('PLX_CERTS_UNTRUSTED', 'certificate is not signed by any root in the trust bundle');
}

function checkTime(notBefore: Date, notAfter: Date, now: Date, what: string): void {
  if (now.getTime() > notAfter.getTime()) {
    throw new CertError('PLX_CERTS_EXPIRED', `${what} expired at ${notAfter.toISOString()}`);
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new CertError('PLX_CERTS_NOT_YET_VALID', `${what} is not valid before ${notBefore.toISOString()}`);
  }
}

function checkUsage(cert: X509Certificate, usage: ExtendedUsage): void {
  for (const ext of cert.extensions) {
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.type)) {
      throw fail('PLX_CERTS_UNTRUSTED', `certificate has an unrecognised critical extension ${ext.type}`);
    }
  }
  if (cert.getExtension(BasicConstraintsExtension)?.ca) throw fail('PLX_CERTS_KEY_USAGE', 'a CA certificate is not a leaf');
  const ku = cert.getExtension(KeyUsagesExtension)?.usages ?? 0;
  if ((ku & KeyUsageFlags.digitalSignature) === 0 || (ku & KeyUsageFlags.keyCertSign) !== 0) {
    throw fail('PLX_CERTS_KEY_USAGE', 'leaf key usage must include digitalSignature and not keyCertSign');
  }
  const eku = cert.getExtension(ExtendedKeyUsageExtension)?.usages ?? [];
  if (!eku.includes(USAGE_OID[usage])) throw fail('PLX_CERTS_KEY_USAGE', `certificate is not valid for ${usage}`);
}

function readNames(cert: X509Certificate): { commonName: string; organizations: string[]; identity?: Identity } {
  const cns = cert.subjectName.getField('CN');
  if (cns.length !== 1) throw fail('PLX_CERTS_BAD_IDENTITY', `certificate must have exactly one CN, found ${cns.length}`);
  const organizations = cert.subjectName.getField('O');
  const sans = cert.getExtensions(SubjectAlternativeNameExtension);
  if (sans.length > 1) throw fail('PLX_CERTS_BAD_IDENTITY', 'certificate has more than one subjectAltName extension');
  const uris = sans[0]?.names.items.filter((n) => n.type === 'url') ?? [];
  if (uris.length > 1) throw fail('PLX_CERTS_BAD_IDENTITY', 'certificate has more than one URI SAN');
  const commonName = cns[0]!;
  return uris[0] ? { commonName, organizations, identity: parseIdentity(uris[0].value) } : { commonName, organizations };
}

function leafOf(certPem: string | X509Certificate): { cert: X509Certificate; parts: CertificateParts } {
  const cert = typeof certPem === 'string' ? certificatesFromPem(certPem)[0]! : certPem;
  try {
    return { cert, parts: certificateParts(new Uint8Array(cert.rawData)) };
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_PEM', 'certificate is malformed', { cause });
  }
}

/**
 * Checks, in order: signature by a bundle root matching issuer name + AKI (UNTRUSTED),
 * root then leaf validity at `now` (EXPIRED / NOT_YET_VALID), no unknown critical
 * extension (UNTRUSTED), leaf not a CA, keyUsage digitalSignature, extKeyUsage `usage`
 * (KEY_USAGE), one CN and at most one URI SAN that parses (BAD_IDENTITY), and the trust
 * domain if asked (TRUST_DOMAIN).
 */
export async function verifyLeaf(o: VerifyOptions): Promise<VerifiedLeaf> {
  if (!(o.bundle instanceof TrustBundle)) throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'bundle must be a TrustBundle');
  if (!(o.now instanceof Date) || Number.isNaN(o.now.getTime())) throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'now must be a valid Date');
  if (o.usage !== 'serverAuth' && o.usage !== 'clientAuth') throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'usage must be serverAuth or clientAuth');
  const { cert, parts } = leafOf(o.certPem);
  try {
    return check(cert, parts, o);
  } catch (cause) {
    if (cause instanceof CertError) throw cause;
    // @peculiar/x509 decodes extension values lazily, so a malformed one surfaces here.
    throw new CertError('PLX_CERTS_BAD_PEM', 'certificate content is malformed', { cause });
  }
}

function check(cert: X509Certificate, parts: CertificateParts, o: VerifyOptions): VerifiedLeaf {
  const root = findIssuer(cert, parts, o.bundle);
  checkTime(root.notBefore, root.notAfter, o.now, `root ${root.fingerprint}`);
  checkTime(cert.notBefore, cert.notAfter, o.now, 'certificate');
  checkUsage(cert, o.usage);
  const names = readNames(cert);
  if (o.trustDomain !== undefined && names.identity?.trustDomain !== o.trustDomain) {
    throw new CertError('PLX_CERTS_TRUST_DOMAIN', `certificate identity is not in trust domain ${JSON.stringify(o.trustDomain)}`);
  }
  return {
    ...names,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuerFingerprint: root.fingerprint,
  };
}
