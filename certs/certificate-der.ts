// Byte-exact slices of certificates and CSRs: the signed bytes (to check signatures
// over exactly what was signed), raw names (issuer matching compares DER bytes, never
// re-encoded strings) and the public key. Structural errors surface as the caller's code.
import { createHash } from 'node:crypto';
import { bytesOf, childrenOf, contentOf, expectTag, readOctetAlignedBits, readRoot, TAG } from './der.ts';
import { signatureAlgorithmFamily } from './signature.ts';

export interface SignedParts {
  /** The bytes the signature covers (TBSCertificate / CertificationRequestInfo). */
  readonly signed: Uint8Array;
  /** Key family the outer signature algorithm needs, or null if not one Plexus accepts. */
  readonly signatureFamily: 'ec' | 'rsa' | null;
  readonly signature: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** DER subject Name. */
  readonly subject: Uint8Array;
}

export interface CertificateParts extends SignedParts {
  /** DER issuer Name. */
  readonly issuer: Uint8Array;
  /** The inner (TBS) and outer signature AlgorithmIdentifiers agree (RFC 5280 §4.1.1.2). */
  readonly algorithmsAgree: boolean;
}

/** Splits SEQUENCE { signed SEQUENCE, AlgorithmIdentifier, BIT STRING }. */
function splitSigned(der: Uint8Array) {
  const outer = childrenOf(der, expectTag(readRoot(der), TAG.SEQUENCE, 'a signed SEQUENCE'));
  if (outer.length !== 3) throw new Error('expected tbs, algorithm and signature');
  const signedNode = expectTag(outer[0], TAG.SEQUENCE, 'the signed SEQUENCE');
  return {
    signedNode,
    algorithmNode: outer[1]!,
    signatureFamily: signatureAlgorithmFamily(der, outer[1]!),
    signature: readOctetAlignedBits(der, outer[2]!),
  };
}

/** Throws a CertError (BAD_ARGUMENT) or Error on malformed DER; callers map the code. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const { signedNode, algorithmNode, signatureFamily, signature } = splitSigned(der);
  const fields = childrenOf(der, signedNode);
  const first = fields[0];
  const at = first && first.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version is optional (v1)
  const innerAlgorithm = fields[at + 1];
  const issuer = expectTag(fields[at + 2], TAG.SEQUENCE, 'the issuer Name');
  const subject = expectTag(fields[at + 4], TAG.SEQUENCE, 'the subject Name');
  const spki = expectTag(fields[at + 5], TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  expectTag(fields[at], TAG.INTEGER, 'the serial number');
  expectTag(fields[at + 3], TAG.SEQUENCE, 'Validity');
  if (!innerAlgorithm) throw new Error('missing TBS signature algorithm');
  return {
    signed: bytesOf(der, signedNode),
    signatureFamily,
    signature,
    spki: bytesOf(der, spki),
    subject: bytesOf(der, subject),
    issuer: bytesOf(der, issuer),
    algorithmsAgree: Buffer.compare(bytesOf(der, innerAlgorithm), bytesOf(der, algorithmNode)) === 0,
  };
}

/** CertificationRequest (RFC 2986): version, subject, SubjectPublicKeyInfo, [0] attributes. */
export function csrParts(der: Uint8Array): SignedParts {
  const { signedNode, signatureFamily, signature } = splitSigned(der);
  const fields = childrenOf(der, signedNode);
  const version = expectTag(fields[0], TAG.INTEGER, 'the CSR version');
  const v = contentOf(der, version);
  if (v.length !== 1 || v[0] !== 0) throw new Error('unsupported CSR version');
  const subject = expectTag(fields[1], TAG.SEQUENCE, 'the subject Name');
  const spki = expectTag(fields[2], TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  if (fields.length > 4 || (fields[3] && fields[3].tag !== 0xa0)) throw new Error('unexpected CSR fields');
  return { signed: bytesOf(der, signedNode), signatureFamily, signature, spki: bytesOf(der, spki), subject: bytesOf(der, subject) };
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  const parts = childrenOf(spki, expectTag(readRoot(spki), TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const bits = readOctetAlignedBits(spki, parts[1]!);
  return new Uint8Array(createHash('sha1').update(bits).digest());
}
