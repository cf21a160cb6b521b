import { KeyUsageFlags, SubjectKeyIdentifierExtension } from '@peculiar/x509';
import type { X509Certificate } from '@peculiar/x509';
import type { webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRootCa } from './ca.ts';
import type { CertificateAuthority } from './ca.ts';
import type { Identity } from './identity.ts';
import { issueCertificate } from './issue.ts';
import type { IssueOptions } from './issue.ts';
import { generateKeyPair } from './keys.ts';
import { certificateFromDer, certificateToPem, fingerprintSha256 } from './pem.ts';
import { at, craftLeaf, craftRoot, Extension, HOUR_MS, Name, T0, tamperSignature } from '../test/support/test-certs.ts';
import { TrustBundle } from './trust-bundle.ts';
import { verifyLeaf } from './verify.ts';
import type { VerifyOptions } from './verify.ts';
import { certErrorCodeAsync as codeOf } from '../test/support/cert-error-code.ts';


let rootA: CertificateAuthority; // P-256
let rootB: CertificateAuthority; // RSA-2048, the "new" root during rotation
let bundleA: TrustBundle;
let bundleAB: TrustBundle;
let leafKeys: webcrypto.CryptoKeyPair;

const c1: Identity = { trustDomain: 'acme', kind: 'cluster', name: 'c1' };

beforeAll(async () => {
  rootA = (await createRootCa({ clusterset: 'acme', now: at(-HOUR_MS) })).ca;
  rootB = (await createRootCa({ clusterset: 'acme', now: at(-HOUR_MS), algorithm: 'RSA-2048' })).ca;
  bundleA = TrustBundle.fromPem(rootA.certPem);
  bundleAB = bundleA.with(rootB.cert);
  leafKeys = await generateKeyPair();
});

async function issue(patch: Partial<IssueOptions> = {}) {
  return issueCertificate({
    ca: rootA,
    publicKey: leafKeys.publicKey,
    commonName: 'c1',
    identity: c1,
    usages: ['clientAuth'],
    lifetimeSeconds: 3600,
    now: T0,
    ...patch,
  });
}

const verify = (certPem: string | X509Certificate, patch: Partial<VerifyOptions> = {}) =>
  verifyLeaf({ certPem, bundle: bundleA, now: T0, usage: 'clientAuth', ...patch });

/** A CA object for a crafted root, so craftLeaf can sign with it. */
const asCa = (cert: X509Certificate, keys: webcrypto.CryptoKeyPair): CertificateAuthority => ({
  cert,
  certPem: certificateToPem(cert),
  key: keys.privateKey,
});

describe('verifyLeaf: accepts', () => {
  it('a leaf issued by a bundle root, and reports who it names', async () => {
    const issued = await issue({ organizations: ['dev'] });
    const v = await verify(issued.certPem, { trustDomain: 'acme' });
    expect(v).toEqual({
      identity: c1,
      commonName: 'c1',
      organizations: ['dev'],
      serial: issued.serial,
      notBefore: issued.cert.notBefore,
      notAfter: issued.notAfter,
      issuerFingerprint: fingerprintSha256(rootA.cert),
    });
    expect(await verify(issued.cert)).toEqual(v);
  });

  it('a leaf without an identity when no trust domain is asked for', async () => {
    const v = await verify((await issue({ identity: undefined })).certPem);
    expect(v.identity).toBeUndefined();
  });

  it('leaves from either root during rotation, each attributed to its own root', async () => {
    const fromA = await issue();
    const fromB = await issue({ ca: rootB });
    expect((await verify(fromA.certPem, { bundle: bundleAB })).issuerFingerprint).toBe(fingerprintSha256(rootA.cert));
    expect((await verify(fromB.certPem, { bundle: bundleAB })).issuerFingerprint).toBe(fingerprintSha256(rootB.cert));
    const afterRotation = bundleAB.without(fingerprintSha256(rootA.cert));
    expect(await codeOf(() => verify(fromA.certPem, { bundle: afterRotation }))).toBe('PLX_CERTS_UNTRUSTED');
    expect(await codeOf(() => verify(fromB.certPem, { bundle: afterRotation }))).toBeUndefined();
  });

  it('at both ends of the validity window, inclusive', async () => {
    const issued = await issue();
    expect(await codeOf(() => verify(issued.certPem, { now: issued.cert.notBefore }))).toBeUndefined();
    expect(await codeOf(() => verify(issued.certPem, { now: issued.notAfter }))).toBeUndefined();
  });

  it('serverAuth when issued for it', async () => {
    const issued = await issue({ usages: ['serverAuth'] });
    expect(await codeOf(() => verify(issued.certPem, { usage: 'serverAuth' }))).toBeUndefined();
  });
});

describe('verifyLeaf: issuer selection (name AND key identifier, then signature)', () => {
  it('regression: a forged root copying the subject name and key identifier is not trusted', async () => {
    const keys = await generateKeyPair();
    const skiHex = rootA.cert.getExtension(SubjectKeyIdentifierExtension)!.keyId;
    const forgedRoot = await craftRoot({ keys, subject: rootA.cert.subjectName, skiHex });
    const forged = await craftLeaf({ issuer: asCa(forgedRoot, keys), publicKey: leafKeys.publicKey, uris: ['spiffe://acme/cluster/c1'] });
    expect(forged.issuer).toBe(rootA.cert.subject);
    expect(await codeOf(() => verify(forged))).toBe('PLX_CERTS_UNTRUSTED');
  });

  it('picks the right root when two roots share a subject name', async () => {
    const keys = await generateKeyPair();
    const twin = await craftRoot({ keys, subject: rootA.cert.subjectName });
    const bundle = TrustBundle.fromPem(certificateToPem(twin) + rootA.certPem);
    const fromA = await issue();
    const fromTwin = await craftLeaf({ issuer: asCa(twin, keys), publicKey: leafKeys.publicKey, subject: new Name([{ CN: ['c1'] }]) });
    expect((await verify(fromA.certPem, { bundle })).issuerFingerprint).toBe(fingerprintSha256(rootA.cert));
    expect((await verify(fromTwin, { bundle })).issuerFingerprint).toBe(fingerprintSha256(twin));
  });

  it('rejects a leaf from a foreign CA', async () => {
    const foreign = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
    const leaf = await issue({ ca: foreign, now: at(HOUR_MS) });
    expect(await codeOf(() => verify(leaf.certPem, { bundle: bundleAB, now: at(HOUR_MS) }))).toBe('PLX_CERTS_UNTRUSTED');
  });

  it('rejects a tampered signature', async () => {
    const issued = await issue();
    const tampered = certificateFromDer(tamperSignature(issued.cert.rawData));
    expect(await codeOf(() => verify(tampered))).toBe('PLX_CERTS_UNTRUSTED');
  });

  it('rejects a leaf without an authority key identifier', async () => {
    const leaf = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, noAki: true });
    expect(await codeOf(() => verify(leaf))).toBe('PLX_CERTS_UNTRUSTED');
  });

  it('rejects a signature algorithm outside the profile (ecdsa-with-SHA384)', async () => {
    const leaf = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, hash: 'SHA-384' });
    expect(await codeOf(() => verify(leaf))).toBe('PLX_CERTS_UNTRUSTED');
  });

  it('checks authenticity before anything else: a forged, expired leaf is UNTRUSTED', async () => {
    const foreign = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
    const leaf = await issue({ ca: foreign, now: at(HOUR_MS) });
    expect(await codeOf(() => verify(leaf.certPem, { now: at(100 * HOUR_MS) }))).toBe('PLX_CERTS_UNTRUSTED');
  });
});

describe('verifyLeaf: time', () => {
  it('rejects an expired leaf and a leaf not yet valid', async () => {
    const issued = await issue();
    expect(await codeOf(() => verify(issued.certPem, { now: at(1, issued.notAfter) }))).toBe('PLX_CERTS_EXPIRED');
    expect(await codeOf(() => verify(issued.certPem, { now: at(-1, issued.cert.notBefore) }))).toBe('PLX_CERTS_NOT_YET_VALID');
  });

  it('rejects a valid leaf whose root has expired or is not yet valid', async () => {
    const keys = await generateKeyPair();
    const shortRoot = await craftRoot({ keys, subject: new Name([{ CN: ['short-lived root'] }]), notAfter: at(HOUR_MS) });
    const lateRoot = await craftRoot({ keys, subject: new Name([{ CN: ['future root'] }]), notBefore: at(HOUR_MS) });
    const long = { publicKey: leafKeys.publicKey, notBefore: at(-HOUR_MS), notAfter: at(10 * HOUR_MS) };
    const a = await craftLeaf({ issuer: asCa(shortRoot, keys), ...long });
    const b = await craftLeaf({ issuer: asCa(lateRoot, keys), ...long });
    const bundle = TrustBundle.fromPem(certificateToPem(shortRoot) + certificateToPem(lateRoot));
    expect(await codeOf(() => verify(a, { bundle, now: at(2 * HOUR_MS) }))).toBe('PLX_CERTS_EXPIRED');
    expect(await codeOf(() => verify(b, { bundle, now: T0 }))).toBe('PLX_CERTS_NOT_YET_VALID');
  });
});

describe('verifyLeaf: usage', () => {
  it('rejects a clientAuth certificate used for serverAuth, and the reverse', async () => {
    expect(await codeOf(async () => verify((await issue()).certPem, { usage: 'serverAuth' }))).toBe('PLX_CERTS_KEY_USAGE');
    const server = await issue({ usages: ['serverAuth'] });
    expect(await codeOf(() => verify(server.certPem, { usage: 'clientAuth' }))).toBe('PLX_CERTS_KEY_USAGE');
  });

  it('rejects a CA certificate presented as a leaf', async () => {
    const ku = KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign;
    const leaf = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, isCa: true, keyUsage: ku });
    expect(await codeOf(() => verify(leaf))).toBe('PLX_CERTS_KEY_USAGE');
  });

  it('rejects keyUsage without digitalSignature, or with keyCertSign', async () => {
    const noSig = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, keyUsage: KeyUsageFlags.keyEncipherment });
    expect(await codeOf(() => verify(noSig))).toBe('PLX_CERTS_KEY_USAGE');
    const certSign = await craftLeaf({
      issuer: rootA,
      publicKey: leafKeys.publicKey,
      keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign,
    });
    expect(await codeOf(() => verify(certSign))).toBe('PLX_CERTS_KEY_USAGE');
  });

  it('rejects an unrecognised critical extension', async () => {
    const extra = [new Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]))];
    const leaf = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, extra });
    expect(await codeOf(() => verify(leaf))).toBe('PLX_CERTS_UNTRUSTED');
  });
});

describe('verifyLeaf: identity', () => {
  const craftWith = (o: { uris?: string[]; subject?: Name }) => craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, ...o });

  it('rejects two URI SANs, an unparseable URI SAN, and a subject without exactly one CN', async () => {
    expect(await codeOf(async () => verify(await craftWith({ uris: ['spiffe://acme/cluster/c1', 'spiffe://acme/cluster/c2'] })))).toBe(
      'PLX_CERTS_BAD_IDENTITY',
    );
    expect(await codeOf(async () => verify(await craftWith({ uris: ['spiffe://acme/cluster/a/../b'] })))).toBe('PLX_CERTS_BAD_IDENTITY');
    expect(await codeOf(async () => verify(await craftWith({ subject: new Name([{ O: ['x'] }]) })))).toBe('PLX_CERTS_BAD_IDENTITY');
    const twoCns = new Name([{ CN: ['a'] }, { CN: ['b'] }]);
    expect(await codeOf(async () => verify(await craftWith({ subject: twoCns })))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it.each([
    ['spiffe://acme.evil/cluster/c1', 'acme', 'regression: "acme.evil" is not in "acme"'],
    ['spiffe://evilacme/cluster/c1', 'acme', 'suffix'],
    ['spiffe://acme/cluster/c1', 'acm', 'prefix of the identity'],
    ['spiffe://acme/cluster/c1', 'acme.', 'trailing dot'],
    ['spiffe://acme/cluster/c1', 'ACME', 'case'],
  ])('rejects %s when asked for trust domain %j (%s)', async (uri, trustDomain) => {
    const leaf = await craftWith({ uris: [uri], subject: new Name([{ CN: ['c1'] }]) });
    expect(await codeOf(() => verify(leaf, { trustDomain }))).toBe('PLX_CERTS_TRUST_DOMAIN');
  });

  it('rejects a leaf with no identity when a trust domain is asked for', async () => {
    const leaf = await issue({ identity: undefined });
    expect(await codeOf(() => verify(leaf.certPem, { trustDomain: 'acme' }))).toBe('PLX_CERTS_TRUST_DOMAIN');
  });
});

describe('verifyLeaf: malformed content', () => {
  it('maps a malformed extension value to PLX_CERTS_BAD_PEM, not a raw parser error', async () => {
    const extra = [new Extension('2.5.29.35', false, new Uint8Array([0x05, 0x00]))]; // AKI that is a NULL
    const leaf = await craftLeaf({ issuer: rootA, publicKey: leafKeys.publicKey, noAki: true, extra });
    expect(await codeOf(() => verify(leaf))).toBe('PLX_CERTS_BAD_PEM');
  });
});

describe('verifyLeaf: arguments', () => {
  it('rejects bad PEM, a non-bundle, an invalid now and an unknown usage', async () => {
    const issued = await issue();
    expect(await codeOf(() => verify('nope'))).toBe('PLX_CERTS_BAD_PEM');
    expect(await codeOf(() => verify(issued.certPem, { bundle: { roots: [] } as unknown as TrustBundle }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(await codeOf(() => verify(issued.certPem, { now: new Date(NaN) }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(await codeOf(() => verify(issued.certPem, { usage: 'codeSigning' as 'clientAuth' }))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });
});
