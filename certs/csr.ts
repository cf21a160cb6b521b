// Certificate signing requests: the only thing that travels when a key is enrolled.
// readCsr is the broker's gate for untrusted input: it proves possession of the key
// (self-signature over the exact signed bytes) before anything is read from the request.
import './setup.ts';
import { createPublicKey } from 'node:crypto';
import type { KeyObject, webcrypto } from 'node:crypto';
import { Name, Pkcs10CertificateRequest, Pkcs10CertificateRequestGenerator, SubjectAlternativeNameExtension } from '@peculiar/x509';
import { csrParts } from './certificate-der.ts';
import type { SignedParts } from './certificate-der.ts';
import { CertError } from './errors.ts';
import { formatIdentity, parseIdentity, validateCommonName, validateGroup } from './identity.ts';
import type { Identity } from './identity.ts';
import { keyAlgorithmOf, nodeKeyOf, webCryptoKeyParams, webCryptoSignParams } from './keys.ts';
import type { KeyAlgorithm } from './keys.ts';
import { decodePemBlocks, encodePem } from './pem.ts';
import { verifyData } from './signature.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const SAN_OID = '2.5.29.17';

export interface VerifiedCsr {
  readonly publicKey: CryptoKey;
  readonly commonName: string;
  readonly identity?: Identity;
  readonly organizations: string[];
  readonly algorithm: KeyAlgorithm;
}

/** Subject: one O= per organization, then CN; the identity, if any, as the only URI SAN. */
export async function createCsr(o: {
  keys: CryptoKeyPair;
  commonName: string;
  identity?: Identity;
  organizations?: string[];
}): Promise<string> {
  validateCommonName(o.commonName);
  const organizations = o.organizations ?? [];
  organizations.forEach(validateGroup);
  const uri = o.identity ? formatIdentity(o.identity) : undefined;
  if (!o.keys?.privateKey || !o.keys.publicKey) throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'keys must be a key pair');
  const { algorithm } = nodeKeyOf(o.keys.privateKey);
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: new Name([...organizations.map((org) => ({ O: [{ utf8String: org }] })), { CN: [{ utf8String: o.commonName }] }]),
    keys: o.keys,
    signingAlgorithm: { ...webCryptoSignParams(algorithm), hash: 'SHA-256' },
    extensions: uri ? [new SubjectAlternativeNameExtension([{ type: 'url', value: uri }])] : [],
  });
  return encodePem(csr.rawData, 'CERTIFICATE REQUEST');
}

function badCsr(message: string, cause?: unknown): CertError {
  return new CertError('PLX_CERTS_BAD_CSR', message, cause === undefined ? undefined : { cause });
}

/** Runs `f`, turning anything but an already-classified CertError into PLX_CERTS_BAD_CSR. */
function asBadCsr<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (cause) {
    if (cause instanceof CertError && cause.code !== 'PLX_CERTS_BAD_ARGUMENT' && cause.code !== 'PLX_CERTS_BAD_IDENTITY') {
      throw cause;
    }
    throw badCsr(what, cause);
  }
}

function checkSignature(parts: SignedParts): { keyObject: KeyObject; algorithm: KeyAlgorithm } {
  const keyObject = asBadCsr('CSR public key is malformed', () =>
    createPublicKey({ key: Buffer.from(parts.spki), format: 'der', type: 'spki' }),
  );
  const algorithm = keyAlgorithmOf(keyObject);
  if (parts.signatureFamily === null) throw badCsr('CSR signature algorithm is not ecdsa-with-SHA256 or sha256WithRSAEncryption');
  const family = algorithm === 'P-256' ? 'ec' : 'rsa';
  if (parts.signatureFamily !== family || !verifyData(keyObject, parts.signed, parts.signature)) {
    throw new CertError('PLX_CERTS_CSR_SIGNATURE', 'CSR self-signature does not verify with its public key');
  }
  return { keyObject, algorithm };
}

function readSubject(csr: Pkcs10CertificateRequest): { commonName: string; organizations: string[]; identity?: Identity } {
  const names = csr.subjectName;
  const cns = names.getField('CN');
  if (cns.length !== 1) throw badCsr(`CSR subject must have exactly one CN, found ${cns.length}`);
  const commonName = cns[0]!;
  validateCommonName(commonName);
  const organizations = names.getField('O');
  const sans = csr.getExtensions(SAN_OID);
  if (sans.length > 1) throw badCsr('CSR has more than one subjectAltName extension');
  const uris = sans[0] ? new SubjectAlternativeNameExtension(sans[0].rawData).names.items.filter((n) => n.type === 'url') : [];
  if (uris.length > 1) throw badCsr('CSR has more than one URI SAN');
  return uris[0] ? { commonName, organizations, identity: parseIdentity(uris[0].value) } : { commonName, organizations };
}

/**
 * Parses a PEM CSR and verifies its self-signature. Codes: PLX_CERTS_BAD_PEM (no block),
 * PLX_CERTS_BAD_CSR (malformed, or an unparseable identity/CN), PLX_CERTS_CSR_SIGNATURE,
 * PLX_CERTS_UNSUPPORTED_KEY (not P-256 or RSA-2048).
 */
export async function readCsr(pem: string): Promise<VerifiedCsr> {
  const blocks = decodePemBlocks(pem, 'CERTIFICATE REQUEST');
  if (blocks.length !== 1) throw badCsr(`expected one CERTIFICATE REQUEST block, found ${blocks.length}`);
  const der = blocks[0]!;
  const parts = asBadCsr('CSR is not valid DER', () => csrParts(der));
  const { keyObject, algorithm } = checkSignature(parts);
  const subject = asBadCsr('CSR content is malformed', () => readSubject(new Pkcs10CertificateRequest(der)));
  const publicKey = keyObject.toCryptoKey(webCryptoKeyParams(algorithm), true, ['verify']);
  return { publicKey, algorithm, ...subject };
}
