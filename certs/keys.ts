// Key pairs: generated where they are used, exported as PKCS#8 PEM for Node's TLS stack,
// and imported back with their algorithm detected from the key itself.
import { createPrivateKey, KeyObject } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { CertError } from './errors.ts';
import { decodePemBlocks, encodePem } from './pem.ts';

export type KeyAlgorithm = 'P-256' | 'RSA-2048';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_PARAMS: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const RSA_PARAMS: webcrypto.RsaHashedKeyGenParams & webcrypto.RsaHashedImportParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
};

/** WebCrypto import parameters for a key of `alg`. */
export function webCryptoKeyParams(alg: KeyAlgorithm): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  return alg === 'P-256' ? EC_PARAMS : RSA_PARAMS;
}

/** WebCrypto signing parameters for a key of `alg` (always SHA-256). */
export function webCryptoSignParams(alg: KeyAlgorithm): webcrypto.EcdsaParams | webcrypto.Algorithm {
  return alg === 'P-256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
}

export async function generateKeyPair(alg: KeyAlgorithm = 'P-256'): Promise<CryptoKeyPair> {
  if (alg !== 'P-256' && alg !== 'RSA-2048') {
    throw new CertError('PLX_CERTS_UNSUPPORTED_KEY', `unsupported key algorithm ${JSON.stringify(alg)}`);
  }
  return globalThis.crypto.subtle.generateKey(alg === 'P-256' ? EC_PARAMS : RSA_PARAMS, true, ['sign', 'verify']);
}

/**
 * The algorithm of a Node key object, or PLX_CERTS_UNSUPPORTED_KEY. Only the two
 * algorithms Plexus issues are accepted, so every certificate in the mesh is one of them.
 */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'P-256';
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048 && details.publicExponent === 65537n) {
    return 'RSA-2048';
  }
  const shape = `${key.asymmetricKeyType ?? key.type} ${details?.namedCurve ?? details?.modulusLength ?? ''}`.trim();
  throw new CertError('PLX_CERTS_UNSUPPORTED_KEY', `unsupported key (${shape}); use P-256 or RSA-2048`);
}

/** A WebCrypto key as a Node key object, plus its algorithm. */
export function nodeKeyOf(key: CryptoKey): { keyObject: KeyObject; algorithm: KeyAlgorithm } {
  let keyObject: KeyObject;
  try {
    keyObject = KeyObject.from(key);
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'not a WebCrypto CryptoKey', { cause });
  }
  return { keyObject, algorithm: keyAlgorithmOf(keyObject) };
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  if (key?.type !== 'private') throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'expected a private key');
  let der: ArrayBuffer;
  try {
    der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'private key is not exportable', { cause });
  }
  return encodePem(der, 'PRIVATE KEY');
}

/** PKCS#8 "PRIVATE KEY" PEM → extractable signing CryptoKey (EC P-256 or RSA-2048). */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const blocks = decodePemBlocks(pem, 'PRIVATE KEY');
  if (blocks.length !== 1) throw new CertError('PLX_CERTS_BAD_PEM', `expected one PRIVATE KEY block, found ${blocks.length}`);
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: Buffer.from(blocks[0]!), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_PEM', 'PRIVATE KEY block is not a PKCS#8 private key', { cause });
  }
  const alg = keyAlgorithmOf(keyObject);
  return keyObject.toCryptoKey(webCryptoKeyParams(alg), true, ['sign']);
}
