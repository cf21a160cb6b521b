// X.509 signature algorithms Plexus uses (ecdsa-with-SHA256, sha256WithRSAEncryption)
// and synchronous sign/verify through node:crypto, which is several times faster per
// operation than WebCrypto's promise round-trip on the issuance and verification paths.
import { sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { childrenOf, contentOf, expectTag, oid, readOid, sequence, TAG, tlv } from './der.ts';
import type { DerNode } from './der.ts';
import type { KeyAlgorithm } from './keys.ts';

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

const ALGORITHM_IDENTIFIER: Record<KeyAlgorithm, Uint8Array> = {
  // RFC 5758 §3.2: the ECDSA parameters field is absent.
  'P-256': sequence(oid(OID.ecdsaWithSha256)),
  // RFC 4055 §5: sha256WithRSAEncryption carries NULL parameters.
  'RSA-2048': sequence(oid(OID.sha256WithRsa), tlv(TAG.NULL)),
};

/** DER AlgorithmIdentifier for signatures made by a key of `alg`. */
export function signatureAlgorithmDer(alg: KeyAlgorithm): Uint8Array {
  return ALGORITHM_IDENTIFIER[alg];
}

/** The key algorithm family a signature AlgorithmIdentifier needs, or null if unsupported. */
export function signatureAlgorithmFamily(buf: Uint8Array, node: DerNode): 'ec' | 'rsa' | null {
  const parts = childrenOf(buf, expectTag(node, TAG.SEQUENCE, 'an AlgorithmIdentifier'));
  const id = readOid(buf, parts[0]!);
  if (id === OID.ecdsaWithSha256 && parts.length === 1) return 'ec';
  if (id === OID.sha256WithRsa) {
    const params = parts[1];
    const nullParams = params === undefined || (params.tag === TAG.NULL && contentOf(buf, params).length === 0);
    if (nullParams && parts.length <= 2) return 'rsa';
  }
  return null;
}

export function signData(key: KeyObject, data: Uint8Array): Uint8Array {
  // EC signatures come out DER-encoded (X.509's form); RSA defaults to PKCS#1 v1.5.
  return new Uint8Array(sign('sha256', data, key));
}

/** False for a wrong or malformed signature; never throws on attacker-controlled bytes. */
export function verifyData(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
}
