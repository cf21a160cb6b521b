// A certificate and its key as a password-protected PKCS#12 (RFC 7292), the one format
// browsers and OS key stores import: WebCrypto has no PKCS#12, so node-forge provides the
// ASN.1 writer, PBKDF2, AES-CBC and the PKCS#12 MAC key derivation.
//
// Algorithms (what OpenSSL 3 writes by default, with more iterations):
//   key bag    pkcs8ShroudedKeyBag: PBES2 = PBKDF2(HMAC-SHA-256, 16-byte salt) + AES-256-CBC
//   MAC        HMAC-SHA-256 over the AuthenticatedSafe, key from the RFC 7292 B.2 KDF with SHA-256
//   certs      plain `data` SafeContents: certificates are public, and leaving them unencrypted
//              avoids a second PBES2 pass; the MAC still covers them (no swap without the password)
// node-forge's own toPkcs12Asn1 is not used: it reads only RSA keys and forge certificate
// objects (Plexus issues P-256), and its MAC is fixed to SHA-1. The AuthenticatedSafe is
// built here from forge's ASN.1 primitives instead; the key goes in as its PKCS#8 DER.
//
// The leaf's bags carry a friendlyName (what a browser lists) and a localKeyID (SHA-1 of the
// leaf's DER) pairing certificate and key; the other certificates are CA bags (no localKeyID),
// so importers add them as authorities. Pure: bytes in, bytes out; callers write the file.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.ts';
import { decodePemBlocks } from './pem.ts';

const { asn1 } = forge;
const OID = forge.pki.oids;

/** PBKDF2 and MAC iterations: ~0.2 s for PBKDF2 (native) plus ~1.4 s for forge's MAC KDF here. */
export const PKCS12_DEFAULT_ITERATIONS = 100_000;

export interface Pkcs12Options {
  /** PKCS#8 "PRIVATE KEY" PEM (P-256 or RSA). */
  readonly keyPem: string;
  /** The leaf first; further certificates in it are kept as the chain. */
  readonly certPem: string;
  /** Roots to carry as CA bags (the clusterset trust bundle); duplicates of the chain are dropped. */
  readonly caPem?: string;
  readonly password: string;
  /** The name a browser or key store shows for the identity. */
  readonly friendlyName: string;
  readonly iterations?: number;
}

type Asn1 = forge.asn1.Asn1;
const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const set = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
const oid = (id: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
const octets = (bytes: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const int = (n: number): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(n).getBytes());
const nul = (): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '');
const explicit0 = (inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
const der = (a: Asn1): string => asn1.toDer(a).getBytes();
const binary = (b: Uint8Array): string => Buffer.from(b).toString('binary');

/** ContentInfo of type data wrapping `content`'s DER (PKCS#7). */
const dataContentInfo = (content: Asn1): Asn1 => seq([oid(OID.data!), explicit0(octets(der(content)))]);

function bagAttributes(friendlyName: string, localKeyId: string): Asn1 {
  return set([
    seq([oid(OID.friendlyName!), set([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, friendlyName)])]),
    seq([oid(OID.localKeyId!), set([octets(localKeyId)])]),
  ]);
}

function certBag(certDer: string, attributes?: Asn1): Asn1 {
  const value = explicit0(seq([oid(OID.x509Certificate!), explicit0(octets(certDer))]));
  return seq(attributes ? [oid(OID.certBag!), value, attributes] : [oid(OID.certBag!), value]);
}

/** EncryptedPrivateKeyInfo: PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC. */
function shroudedKey(pkcs8Der: string, password: string, iterations: number): Asn1 {
  const salt = forge.random.getBytesSync(16);
  const iv = forge.random.getBytesSync(16);
  // PBES2 takes the password as octets: UTF-8, as OpenSSL and NSS do.
  const key = forge.pkcs5.pbkdf2(forge.util.encodeUtf8(password), salt, iterations, 32, 'sha256');
  const cipher = forge.cipher.createCipher('AES-CBC', key);
  cipher.start({ iv });
  cipher.update(forge.util.createBuffer(pkcs8Der));
  cipher.finish();
  const algorithm = seq([oid(OID.pkcs5PBES2!), seq([
    seq([oid(OID.pkcs5PBKDF2!), seq([octets(salt), int(iterations), int(32), seq([oid(OID.hmacWithSHA256!), nul()])])]),
    seq([oid(OID['aes256-CBC']!), octets(iv)]),
  ])]);
  return seq([algorithm, octets(cipher.output.getBytes())]);
}

/** MacData: HMAC-SHA-256 keyed by the PKCS#12 KDF (ID 3, password as BMPString). */
function macData(authSafeDer: string, password: string, iterations: number): Asn1 {
  const salt = forge.random.getBytesSync(16);
  const key = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, iterations, 32, forge.md.sha256.create());
  const hmac = forge.hmac.create();
  hmac.start('sha256', key.getBytes());
  hmac.update(authSafeDer);
  return seq([seq([seq([oid(OID.sha256!), nul()]), octets(hmac.getMac().getBytes())]), octets(salt), int(iterations)]);
}

function certificatesOf(pem: string, what: string): X509Certificate[] {
  return decodePemBlocks(pem, 'CERTIFICATE').map((b) => {
    try {
      return new X509Certificate(b);
    } catch (cause) {
      throw new CertError('PLX_CERTS_BAD_PEM', `${what} holds an unreadable certificate`, { cause });
    }
  });
}

function validate(o: Pkcs12Options): number {
  const iterations = o.iterations ?? PKCS12_DEFAULT_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new CertError('PLX_CERTS_BAD_ARGUMENT', `PKCS#12 iterations must be a positive integer, not ${iterations}`);
  if (typeof o.password !== 'string' || o.password === '') throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'a PKCS#12 needs a non-empty password');
  // The friendly name is a BMPString: UTF-16 code units, each written as two bytes.
  if (o.friendlyName === '' || o.friendlyName.length > 320 || /[\u0000-\u001f\u007f]/.test(o.friendlyName)) {
    throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'PKCS#12 friendly name must be 1-320 characters without control characters');
  }
  return iterations;
}

/** DER of a PFX holding the key, its certificate, the chain and the roots in `caPem`. */
export function encodePkcs12(o: Pkcs12Options): Uint8Array {
  const iterations = validate(o);
  const chain = certificatesOf(o.certPem, 'the certificate PEM');
  const leaf = chain[0]!;
  let key;
  try {
    key = createPrivateKey({ key: o.keyPem, format: 'pem' });
  } catch (cause) {
    throw new CertError('PLX_CERTS_BAD_PEM', 'the private key is not a readable PEM key', { cause });
  }
  if (!leaf.checkPrivateKey(key)) throw new CertError('PLX_CERTS_BAD_ARGUMENT', 'the private key does not belong to the first certificate');
  const seen = new Set(chain.map((c) => c.fingerprint256));
  const roots = o.caPem ? certificatesOf(o.caPem, 'the CA PEM').filter((c) => !seen.has(c.fingerprint256) && seen.add(c.fingerprint256)) : [];

  const leafDer = binary(leaf.raw);
  const attributes = bagAttributes(o.friendlyName, forge.md.sha1.create().update(leafDer).digest().getBytes());
  const certBags = [certBag(leafDer, attributes), ...[...chain.slice(1), ...roots].map((c) => certBag(binary(c.raw)))];
  const pkcs8 = binary(key.export({ type: 'pkcs8', format: 'der' }));
  const keyBag = seq([oid(OID.pkcs8ShroudedKeyBag!), explicit0(shroudedKey(pkcs8, o.password, iterations)), attributes]);

  const authSafe = seq([dataContentInfo(seq(certBags)), dataContentInfo(seq([keyBag]))]);
  const authSafeDer = der(authSafe);
  const pfx = seq([int(3), seq([oid(OID.data!), explicit0(octets(authSafeDer))]), macData(authSafeDer, o.password, iterations)]);
  return new Uint8Array(Buffer.from(der(pfx), 'binary'));
}
