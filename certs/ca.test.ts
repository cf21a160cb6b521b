import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectKeyIdentifierExtension,
} from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { caSigner, createRootCa, loadCa } from './ca.ts';
import { exportPrivateKeyPem, generateKeyPair } from './keys.ts';
import { certificateToPem } from './pem.ts';
import { craftRoot, Name, T0, at } from '../test/support/test-certs.ts';
import { certErrorCodeAsync as codeOf } from '../test/support/cert-error-code.ts';


const DAY_MS = 86_400_000;

describe('createRootCa', () => {
  it('makes a P-256 root: critical CA constraints, keyCertSign+cRLSign, SKI, O=plexus, 10 years', async () => {
    const { ca, keyPem } = await createRootCa({ clusterset: 'acme', now: T0 });
    const { cert } = ca;
    expect(cert.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    const bc = cert.getExtension(BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.critical).toBe(true);
    const ku = cert.getExtension(KeyUsagesExtension)!;
    expect(ku.usages).toBe(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
    expect(ku.critical).toBe(true);
    expect(cert.getExtension(SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.getExtension(AuthorityKeyIdentifierExtension)).toBeNull();
    expect(cert.subjectName.getField('O')).toEqual(['plexus']);
    expect(cert.subjectName.getField('CN')[0]).toMatch(/^Plexus root CA \(acme\) 2030-06-15 [0-9a-f]{8}$/);
    expect(cert.issuer).toBe(cert.subject);
    expect(await cert.isSelfSigned()).toBe(true);
    expect(cert.notBefore.getTime()).toBe(T0.getTime() - 60_000);
    expect(cert.notAfter.getTime()).toBe(T0.getTime() + 3650 * DAY_MS);
    expect(cert.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/i);
    expect(ca.certPem).toBe(certificateToPem(cert));
    expect(keyPem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
  });

  it('gives a rotated root a distinct subject name (rollover needs both in one bundle)', async () => {
    const a = await createRootCa({ clusterset: 'acme', now: T0 });
    const b = await createRootCa({ clusterset: 'acme', now: T0 });
    const c = await createRootCa({ clusterset: 'acme', now: at(400 * DAY_MS) });
    const subjects = new Set([a, b, c].map((r) => r.ca.cert.subject));
    expect(subjects.size).toBe(3);
  });

  it('supports RSA-2048, custom validity and common name', async () => {
    const { ca } = await createRootCa({ clusterset: 'acme', now: T0, algorithm: 'RSA-2048', validityDays: 30, commonName: 'Test CA' });
    expect(ca.cert.publicKey.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 });
    expect(ca.cert.signatureAlgorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    expect(ca.cert.notAfter.getTime()).toBe(T0.getTime() + 30 * DAY_MS);
    expect(ca.cert.subjectName.getField('CN')).toEqual(['Test CA']);
  });

  it.each([
    [{ clusterset: 'Acme' }, 'PLX_CERTS_BAD_IDENTITY'],
    [{ clusterset: 'acme', now: new Date(NaN) }, 'PLX_CERTS_BAD_ARGUMENT'],
    [{ clusterset: 'acme', validityDays: 0 }, 'PLX_CERTS_BAD_ARGUMENT'],
    [{ clusterset: 'acme', validityDays: Infinity }, 'PLX_CERTS_BAD_ARGUMENT'],
    [{ clusterset: 'acme', commonName: ' ' }, 'PLX_CERTS_BAD_ARGUMENT'],
    [{ clusterset: 'acme', commonName: 'a\nb' }, 'PLX_CERTS_BAD_ARGUMENT'],
    [{ clusterset: 'acme', algorithm: 'P-521' }, 'PLX_CERTS_UNSUPPORTED_KEY'],
  ])('rejects %j with %s', async (opts, code) => {
    expect(await codeOf(() => createRootCa({ now: T0, ...opts } as Parameters<typeof createRootCa>[0]))).toBe(code);
  });
});

describe('loadCa', () => {
  it('loads what createRootCa wrote, with the same signer', async () => {
    const { ca, keyPem } = await createRootCa({ clusterset: 'acme', now: T0 });
    const loaded = await loadCa(ca.certPem, keyPem);
    expect(loaded.certPem).toBe(ca.certPem);
    const [s1, s2] = [caSigner(ca), caSigner(loaded)];
    expect(Buffer.from(s2.subject).equals(Buffer.from(s1.subject))).toBe(true);
    expect(Buffer.from(s2.keyId).toString('hex')).toBe(ca.cert.getExtension(SubjectKeyIdentifierExtension)!.keyId);
    expect(s2.algorithm).toBe('P-256');
  });

  it('rejects a key that does not match the certificate', async () => {
    const { ca } = await createRootCa({ clusterset: 'acme', now: T0 });
    const otherKey = await exportPrivateKeyPem((await generateKeyPair()).privateKey);
    expect(await codeOf(() => loadCa(ca.certPem, otherKey))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });

  it('rejects a certificate that is not a CA', async () => {
    const keys = await generateKeyPair();
    const cert = await craftRoot({ keys, subject: new Name([{ CN: ['not a ca'] }]), isCa: false });
    const keyPem = await exportPrivateKeyPem(keys.privateKey);
    expect(await codeOf(() => loadCa(certificateToPem(cert), keyPem))).toBe('PLX_CERTS_KEY_USAGE');
  });

  it('rejects bad PEM and more than one certificate', async () => {
    const { ca, keyPem } = await createRootCa({ clusterset: 'acme', now: T0 });
    expect(await codeOf(() => loadCa('nope', keyPem))).toBe('PLX_CERTS_BAD_PEM');
    expect(await codeOf(() => loadCa(ca.certPem + ca.certPem, keyPem))).toBe('PLX_CERTS_BAD_PEM');
    expect(await codeOf(() => loadCa(ca.certPem, 'nope'))).toBe('PLX_CERTS_BAD_PEM');
  });
});

describe('caSigner', () => {
  it('works for a CA object assembled by hand (no cached signer)', async () => {
    const { ca } = await createRootCa({ clusterset: 'acme', now: T0, algorithm: 'RSA-2048' });
    const plain = { cert: ca.cert, certPem: ca.certPem, key: ca.key };
    expect(caSigner(plain).algorithm).toBe('RSA-2048');
    expect(Buffer.from(caSigner(plain).keyId).equals(Buffer.from(caSigner(ca).keyId))).toBe(true);
  });
});
