// Reading a password-protected PKCS#12 (RFC 7292) back: what encodePkcs12 writes, and what
// OpenSSL 3 writes by default (PBES2 key bag, certificates plain or PBES2-encrypted, MAC
// with SHA-1/2). node-forge only walks the ASN.1 here: its PBKDF2 and PKCS#12 KDF run in
// JavaScript (about 3.5 s for one file at 100 000 iterations), which an admin command
// would pay on every call. The KDFs and ciphers are node:crypto's instead.
//
// The MAC is checked first, over the whole AuthenticatedSafe: a wrong password is
// PLX_CERTS_PKCS12_PASSWORD, and certificates (which are not encrypted) cannot be swapped
// without the password. Legacy PKCS#12 PBE (RC2, 3DES) is refused as PLX_CERTS_BAD_PKCS12.
import { createDecipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.ts';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const OID = forge.pki.oids;

/** What a PKCS#12 holds: one private key, the certificate it belongs to, and every other certificate. */
export interface DecodedPkcs12 {
  /** PKCS#8 "PRIVATE KEY" PEM. */
  readonly keyPem: string;
  /** The certificate whose public key is the key's. */
  readonly certPem: string;
  /** Every other certificate (for a Plexus export: the clusterset roots), PEM, in file order; '' if none. */
  readonly caPem: string;
}

const bad = (message: string, cause?: unknown) => new CertError('PLX_CERTS_BAD_PKCS12', message, cause === undefined ? undefined : { cause });
const wrongPassword = (cause?: unknown) => new CertError('PLX_CERTS_PKCS12_PASSWORD', 'the PKCS#12 password is wrong (its integrity check fails)', cause === undefined ? undefined : { cause });

/** Digest name, output and block size (bytes) of the hashes a PKCS#12 MAC or PBKDF2 may use. */
const HASHES: Readonly<Record<string, { name: string; u: number; v: number }>> = {
  [OID.sha1!]: { name: 'sha1', u: 20, v: 64 }, [OID.hmacWithSHA1!]: { name: 'sha1', u: 20, v: 64 },
  [OID.sha256!]: { name: 'sha256', u: 32, v: 64 }, [OID.hmacWithSHA256!]: { name: 'sha256', u: 32, v: 64 },
  [OID.sha384!]: { name: 'sha384', u: 48, v: 128 }, [OID.hmacWithSHA384!]: { name: 'sha384', u: 48, v: 128 },
  [OID.sha512!]: { name: 'sha512', u: 64, v: 128 }, [OID.hmacWithSHA512!]: { name: 'sha512', u: 64, v: 128 },
};
const CIPHERS: Readonly<Record<string, string>> = {
  [OID['aes128-CBC']!]: 'aes-128-cbc', [OID['aes192-CBC']!]: 'aes-192-cbc', [OID['aes256-CBC']!]: 'aes-256-cbc',
};

const children = (a: Asn1 | undefined, what: string): Asn1[] => {
  if (!a || !Array.isArray(a.value)) throw bad(`the PKCS#12 ${what} is not a constructed value`);
  return a.value;
};
const oidOf = (a: Asn1 | undefined, what: string): string => {
  if (!a || a.type !== asn1.Type.OID || typeof a.value !== 'string') throw bad(`the PKCS#12 ${what} is not an OID`);
  return asn1.derToOid(a.value);
};
/** An OCTET STRING's bytes; BER may split one into constructed pieces. */
const octetsOf = (a: Asn1 | undefined, what: string): Buffer => {
  if (!a) throw bad(`the PKCS#12 ${what} is missing`);
  if (typeof a.value === 'string') return Buffer.from(a.value, 'binary');
  return Buffer.concat(a.value.map((p) => octetsOf(p, what)));
};
const intOf = (a: Asn1 | undefined, what: string): number => {
  const n = Number.parseInt(octetsOf(a, what).toString('hex') || '0', 16);
  if (!Number.isSafeInteger(n) || n < 1) throw bad(`the PKCS#12 ${what} is not a positive integer`);
  return n;
};
const fromDer = (bytes: Buffer, what: string): Asn1 => {
  try {
    return asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')), { strict: false });
  } catch (cause) {
    throw bad(`the PKCS#12 ${what} is not DER`, cause);
  }
};
const toDer = (a: Asn1): Buffer => Buffer.from(asn1.toDer(a).getBytes(), 'binary');

/** RFC 7292 B.2 with ID 3 (MAC key), n = u: one round of the iterated hash over D || S || P. */
function macKey(password: string, salt: Buffer, iterations: number, h: { name: string; u: number; v: number }): Buffer {
  const fill = (b: Buffer) => (b.length === 0 ? b : Buffer.alloc(h.v * Math.ceil(b.length / h.v), b));
  // The password as a BMPString with its two-byte terminator, as forge and OpenSSL take it.
  const bmp = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) bmp.writeUInt16BE(password.charCodeAt(i), i * 2);
  let a = Buffer.concat([Buffer.alloc(h.v, 3), fill(salt), fill(bmp)]);
  for (let i = 0; i < iterations; i++) a = createHash(h.name).update(a).digest();
  return a;
}

function checkMac(macData: Asn1, authSafe: Buffer, password: string): void {
  const [digestInfo, salt, iterations] = children(macData, 'MacData');
  const [algorithm, digest] = children(digestInfo, 'MAC digest');
  const h = HASHES[oidOf(children(algorithm, 'MAC algorithm')[0], 'MAC algorithm')];
  if (!h) throw bad('the PKCS#12 MAC uses an unsupported hash');
  const mac = createHmac(h.name, macKey(password, octetsOf(salt, 'MAC salt'), iterations ? intOf(iterations, 'MAC iterations') : 1, h)).update(authSafe).digest();
  const expected = octetsOf(digest, 'MAC');
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw wrongPassword();
}

/** PBES2 (PBKDF2 + AES-CBC) decryption of `data` with the algorithm identifier `alg`. */
function pbes2Decrypt(alg: Asn1, data: Buffer, password: string): Buffer {
  const [scheme, params] = children(alg, 'encryption algorithm');
  if (oidOf(scheme, 'encryption scheme') !== OID.pkcs5PBES2) throw bad('the PKCS#12 uses a legacy encryption (not PBES2); export it again with OpenSSL 3 defaults');
  const [kdf, enc] = children(params, 'PBES2 parameters');
  const [kdfOid, kdfParams] = children(kdf, 'PBES2 key derivation');
  if (oidOf(kdfOid, 'key derivation') !== OID.pkcs5PBKDF2) throw bad('the PKCS#12 uses a key derivation other than PBKDF2');
  const p = children(kdfParams, 'PBKDF2 parameters');
  const prfAsn1 = p.slice(2).find((x) => x.type === asn1.Type.SEQUENCE);
  const prf = prfAsn1 ? HASHES[oidOf(children(prfAsn1, 'PBKDF2 PRF')[0], 'PBKDF2 PRF')] : HASHES[OID.hmacWithSHA1!];
  const [encOid, iv] = children(enc, 'PBES2 cipher');
  const cipher = CIPHERS[oidOf(encOid, 'cipher')];
  if (!prf || !cipher) throw bad('the PKCS#12 uses an unsupported PBES2 hash or cipher');
  const keyLength = Number(cipher.slice(4, 7)) / 8;
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), octetsOf(p[0], 'PBKDF2 salt'), intOf(p[1], 'PBKDF2 iterations'), keyLength, prf.name);
  try {
    const d = createDecipheriv(cipher, key, octetsOf(iv, 'PBES2 IV'));
    return Buffer.concat([d.update(data), d.final()]);
  } catch (cause) {
    throw wrongPassword(cause);
  }
}

/** The SafeContents of one ContentInfo of the AuthenticatedSafe: plain `data` or PBES2 `encryptedData`. */
function safeContents(contentInfo: Asn1, password: string): Asn1[] {
  const [type, explicit] = children(contentInfo, 'ContentInfo');
  const content = children(explicit, 'ContentInfo content')[0];
  const kind = oidOf(type, 'content type');
  if (kind === OID.data) return children(fromDer(octetsOf(content, 'SafeContents'), 'SafeContents'), 'SafeContents');
  if (kind !== OID.encryptedData) throw bad('the PKCS#12 holds content that is neither data nor password-encrypted data');
  const [, encryptedContentInfo] = children(content, 'EncryptedData');
  const [, alg, encrypted] = children(encryptedContentInfo, 'EncryptedContentInfo');
  return children(fromDer(pbes2Decrypt(alg!, octetsOf(encrypted, 'encrypted content'), password), 'SafeContents'), 'SafeContents');
}

function decryptKey(bagValue: Asn1, shrouded: boolean, password: string): KeyObject {
  const der = toDer(bagValue);
  if (!shrouded) return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const [alg, data] = children(bagValue, 'EncryptedPrivateKeyInfo');
  // Decrypted here (PBES2) so a wrong password without a MAC is still PLX_CERTS_PKCS12_PASSWORD.
  return createPrivateKey({ key: pbes2Decrypt(alg!, octetsOf(data, 'encrypted key'), password), format: 'der', type: 'pkcs8' });
}

const pem = (label: string, d: Buffer): string => `-----BEGIN ${label}-----\n${d.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

/** The key and certificates of a PKCS#12 opened with `password`. Exactly one key. */
export function decodePkcs12(bytes: Uint8Array, password: string): DecodedPkcs12 {
  try {
    return decode(bytes, password);
  } catch (e) {
    if (e instanceof CertError) throw e;
    throw bad(`not a readable PKCS#12: ${(e as Error).message}`, e);
  }
}

function decode(bytes: Uint8Array, password: string): DecodedPkcs12 {
  const [version, authSafe, macData] = children(fromDer(Buffer.from(bytes), 'file'), 'PFX');
  if (intOf(version, 'version') !== 3) throw bad('not a PKCS#12 version 3 file');
  const [type, explicit] = children(authSafe, 'AuthenticatedSafe');
  if (oidOf(type, 'AuthenticatedSafe type') !== OID.data) throw bad('the PKCS#12 is signed with a public key, not protected by a password');
  const authSafeDer = octetsOf(children(explicit, 'AuthenticatedSafe')[0], 'AuthenticatedSafe');
  if (macData) checkMac(macData, authSafeDer, password);

  const keys: KeyObject[] = [];
  const certs: X509Certificate[] = [];
  for (const contentInfo of children(fromDer(authSafeDer, 'AuthenticatedSafe'), 'AuthenticatedSafe')) {
    for (const bag of safeContents(contentInfo, password)) {
      const [bagId, explicitValue] = children(bag, 'SafeBag');
      const value = children(explicitValue, 'SafeBag value')[0]!;
      const id = oidOf(bagId, 'bag type');
      try {
        if (id === OID.pkcs8ShroudedKeyBag || id === OID.keyBag) keys.push(decryptKey(value, id === OID.pkcs8ShroudedKeyBag, password));
        else if (id === OID.certBag) {
          const [certType, certValue] = children(value, 'CertBag');
          if (oidOf(certType, 'certificate type') === OID.x509Certificate) certs.push(new X509Certificate(octetsOf(children(certValue, 'certificate')[0], 'certificate')));
        }
      } catch (e) {
        if (e instanceof CertError) throw e;
        throw bad(`the PKCS#12 holds an unreadable ${id === OID.certBag ? 'certificate' : 'key'}`, e);
      }
    }
  }
  if (keys.length !== 1) throw bad(`a PKCS#12 identity holds exactly one private key, this one ${keys.length}`);
  const key = keys[0]!;
  const leaf = certs.find((c) => c.checkPrivateKey(key));
  if (!leaf) throw bad('the PKCS#12 holds no certificate for its private key');
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: pem('CERTIFICATE', leaf.raw),
    caPem: certs.filter((c) => c !== leaf).map((c) => pem('CERTIFICATE', c.raw)).join(''),
  };
}
