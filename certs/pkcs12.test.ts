import './setup.ts';
import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, type CertificateAuthority } from './ca.ts';
import { issueCertificate } from './issue.ts';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm } from './keys.ts';
import { encodePkcs12 } from './pkcs12.ts';
import { decodePkcs12 } from './pkcs12-decode.ts';
import { T0 } from '../test/support/test-certs.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';

// forge decrypts PBKDF2-HMAC-SHA-256 in plain JavaScript (~0.2 ms per iteration here), so
// the round trips use few iterations; the default count is checked by reading the header.
const FEW = 2048;

let ca: CertificateAuthority;
beforeAll(async () => {
  ca = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
});

async function identity(alg: KeyAlgorithm): Promise<{ keyPem: string; certPem: string }> {
  const keys = await generateKeyPair(alg);
  const leaf = await issueCertificate({ ca, publicKey: keys.publicKey, commonName: 'alice', identity: { trustDomain: 'acme', kind: 'user', name: 'alice' }, usages: ['clientAuth'], lifetimeSeconds: 3600, now: T0 });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), certPem: leaf.certPem };
}

const toDer = (bytes: Uint8Array) => forge.asn1.fromDer(Buffer.from(bytes).toString('binary'));
const derOf = (a: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(a).getBytes(), 'binary');
const certDerOf = (bag: forge.pkcs12.Bag) => derOf(bag.asn1);
/** Whether the DER holds the OID `name` (encoded as a whole OBJECT IDENTIFIER). */
const holdsOid = (p12: Uint8Array, name: string) =>
  Buffer.from(p12).includes(derOf(forge.asn1.create(0, 6, false, forge.asn1.oidToDer(forge.pki.oids[name]!).getBytes())));


describe('encodePkcs12', () => {
  it.each(['P-256', 'RSA-2048'] as KeyAlgorithm[])('round-trips a %s key, its certificate and the root through node-forge', async (alg) => {
    const id = await identity(alg);
    const p12 = encodePkcs12({ ...id, caPem: ca.certPem, password: 'correct horse', friendlyName: 'alice (acme)', iterations: FEW });
    const pfx = forge.pkcs12.pkcs12FromAsn1(toDer(p12), true, 'correct horse');

    const keyBags = pfx.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]!;
    expect(keyBags).toHaveLength(1);
    const keyBag = keyBags[0]!;
    const pkcs8 = createPrivateKey({ key: id.keyPem, format: 'pem' }).export({ type: 'pkcs8', format: 'der' });
    // forge reads only RSA key objects; for P-256 it hands back the decrypted PrivateKeyInfo.
    if (alg === 'P-256') expect(derOf(keyBag.asn1)).toEqual(pkcs8);
    expect(keyBag.attributes.friendlyName).toEqual(['alice (acme)']);

    const certBags = pfx.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]!;
    expect(certBags).toHaveLength(2);
    const leafBag = certBags.find((b) => b.attributes.localKeyId)!;
    const caBag = certBags.find((b) => !b.attributes.localKeyId)!;
    // The leaf pairs with the key through the same localKeyID; the root is a CA bag.
    expect(leafBag.attributes.localKeyId).toEqual(keyBag.attributes.localKeyId);
    expect(leafBag.attributes.friendlyName).toEqual(['alice (acme)']);
    if (alg === 'P-256') expect(new NodeX509(certDerOf(leafBag)).toString()).toBe(new NodeX509(id.certPem).toString());
    expect(caBag.attributes.friendlyName).toBeUndefined();
    expect(new NodeX509(certDerOf(caBag)).fingerprint256).toBe(new NodeX509(ca.certPem).fingerprint256);
  });

  it('rejects the wrong password (the MAC does not verify)', async () => {
    const p12 = encodePkcs12({ ...(await identity('P-256')), caPem: ca.certPem, password: 'right', friendlyName: 'alice', iterations: FEW });
    expect(() => forge.pkcs12.pkcs12FromAsn1(toDer(p12), true, 'wrong')).toThrow(/MAC/i);
  });

  it('uses PBES2 (PBKDF2 with HMAC-SHA-256, AES-256-CBC) for the key and HMAC-SHA-256 for the MAC, 100000 iterations by default', async () => {
    const p12 = encodePkcs12({ ...(await identity('P-256')), password: 'pw', friendlyName: 'alice' });
    for (const name of ['pkcs5PBES2', 'pkcs5PBKDF2', 'hmacWithSHA256', 'aes256-CBC', 'sha256']) expect(holdsOid(p12, name), name).toBe(true);
    for (const name of ['sha1', 'hmacWithSHA1', 'pbeWithSHAAnd3-KeyTripleDES-CBC', 'aes128-CBC']) expect(holdsOid(p12, name), name).toBe(false);
    const pfx = toDer(p12).value as forge.asn1.Asn1[];
    const mac = pfx[2]!.value as forge.asn1.Asn1[];
    expect(Buffer.from(mac[2]!.value as string, 'binary').readUIntBE(0, (mac[2]!.value as string).length)).toBe(100_000);
  });

  it('drops a root that the certificate PEM already carries', async () => {
    const id = await identity('P-256');
    const p12 = encodePkcs12({ keyPem: id.keyPem, certPem: id.certPem + ca.certPem, caPem: ca.certPem, password: 'pw', friendlyName: 'alice', iterations: FEW });
    const pfx = forge.pkcs12.pkcs12FromAsn1(toDer(p12), true, 'pw');
    expect(pfx.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!]).toHaveLength(2);
  });

  it('refuses an empty password, a key of another certificate and a bad friendly name', async () => {
    const id = await identity('P-256');
    const other = await identity('P-256');
    expect(codeOf(() => encodePkcs12({ ...id, password: '', friendlyName: 'alice' }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(codeOf(() => encodePkcs12({ keyPem: other.keyPem, certPem: id.certPem, password: 'pw', friendlyName: 'alice', iterations: FEW }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(codeOf(() => encodePkcs12({ ...id, password: 'pw', friendlyName: 'a\nb', iterations: FEW }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(codeOf(() => encodePkcs12({ ...id, password: 'pw', friendlyName: 'alice', iterations: 0 }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(codeOf(() => encodePkcs12({ ...id, keyPem: 'nope', password: 'pw', friendlyName: 'alice', iterations: FEW }))).toBe('PLX_CERTS_BAD_PEM');
  });
});

describe('decodePkcs12', () => {
  it.each(['P-256', 'RSA-2048'] as KeyAlgorithm[])('gives back the %s key, its certificate and the roots that encodePkcs12 wrote', async (alg) => {
    const id = await identity(alg);
    const p12 = encodePkcs12({ ...id, caPem: ca.certPem, password: 'correct horse', friendlyName: 'alice (acme)', iterations: FEW });
    const out = decodePkcs12(p12, 'correct horse');
    expect(new NodeX509(out.certPem).fingerprint256).toBe(new NodeX509(id.certPem).fingerprint256);
    const pkcs8 = (pem: string) => createPrivateKey({ key: pem, format: 'pem' }).export({ type: 'pkcs8', format: 'der' });
    expect(pkcs8(out.keyPem)).toEqual(pkcs8(id.keyPem));
    expect(new NodeX509(out.caPem).fingerprint256).toBe(new NodeX509(ca.certPem).fingerprint256);
  });

  it('a wrong password is PLX_CERTS_PKCS12_PASSWORD, bytes that are no PKCS#12 PLX_CERTS_BAD_PKCS12', async () => {
    const p12 = encodePkcs12({ ...(await identity('P-256')), caPem: ca.certPem, password: 'right', friendlyName: 'alice', iterations: FEW });
    expect(codeOf(() => decodePkcs12(p12, 'wrong'))).toBe('PLX_CERTS_PKCS12_PASSWORD');
    expect(codeOf(() => decodePkcs12(new TextEncoder().encode('-----BEGIN CERTIFICATE-----'), 'right'))).toBe('PLX_CERTS_BAD_PKCS12');
    expect(codeOf(() => decodePkcs12(p12.slice(0, 200), 'right'))).toBe('PLX_CERTS_BAD_PKCS12');
  });

  it('a root swapped in the unencrypted certificate bags fails the MAC (PLX_CERTS_PKCS12_PASSWORD), so nobody without the password can change whom the admin trusts', async () => {
    const p12 = encodePkcs12({ ...(await identity('P-256')), caPem: ca.certPem, password: 'right', friendlyName: 'alice', iterations: FEW });
    const rootDer = new NodeX509(ca.certPem).raw;
    const at = Buffer.from(p12).indexOf(rootDer);
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(p12);
    tampered[at + rootDer.length - 10]! ^= 0xff;
    expect(codeOf(() => decodePkcs12(tampered, 'right'))).toBe('PLX_CERTS_PKCS12_PASSWORD');
  });
});
