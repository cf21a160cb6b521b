import { createSecureContext } from 'node:tls';
import type { webcrypto } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  GeneralName,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
} from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { caSigner, createRootCa } from './ca.ts';
import type { CertificateAuthority } from './ca.ts';
import { ipv6Bytes, issueCertificate, leafTemplate } from './issue.ts';
import type { IssueOptions } from './issue.ts';
import { referenceLeafTbs } from '../test/support/issue-reference.ts';
import { exportPrivateKeyPem, generateKeyPair } from './keys.ts';
import type { KeyAlgorithm } from './keys.ts';
import { implicitPrimitive } from './der.ts';
import { encodeLeafTbs } from './leaf-tbs.ts';
import { certificatesFromPem } from './pem.ts';
import { at, HOUR_MS, T0 } from '../test/support/test-certs.ts';
import { certErrorCodeAsync as codeOf } from '../test/support/cert-error-code.ts';


const cas = {} as Record<KeyAlgorithm, CertificateAuthority>;
const leafKeys = {} as Record<KeyAlgorithm, webcrypto.CryptoKeyPair>;
const ALGS: KeyAlgorithm[] = ['P-256', 'RSA-2048'];

beforeAll(async () => {
  for (const alg of ALGS) {
    cas[alg] = (await createRootCa({ clusterset: 'acme', now: T0, algorithm: alg })).ca;
    leafKeys[alg] = await generateKeyPair(alg);
  }
});

const base = (ca: CertificateAuthority, publicKey: webcrypto.CryptoKey): IssueOptions => ({
  ca,
  publicKey,
  commonName: 'c1',
  identity: { trustDomain: 'acme', kind: 'cluster', name: 'c1' },
  usages: ['clientAuth'],
  lifetimeSeconds: 24 * 3600,
  now: T0,
});

describe.each(ALGS.flatMap((c) => ALGS.map((l) => [c, l] as const)))('a %s CA issuing a %s leaf', (caAlg, leafAlg) => {
  it('sets the leaf profile: CA:false, key usages, EKU, SKI, AKI, URI SAN, subject', async () => {
    const ca = cas[caAlg];
    const opts = { ...base(ca, leafKeys[leafAlg].publicKey), organizations: ['dev', 'system:masters'], usages: ['clientAuth', 'serverAuth'] as const };
    const issued = await issueCertificate({ ...opts, usages: [...opts.usages] });
    const { cert } = issued;
    expect(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true })).toBe(true);
    const bc = cert.getExtension(BasicConstraintsExtension)!;
    expect([bc.ca, bc.critical]).toEqual([false, true]);
    const ku = cert.getExtension(KeyUsagesExtension)!;
    const expectedKu = KeyUsageFlags.digitalSignature | (leafAlg === 'RSA-2048' ? KeyUsageFlags.keyEncipherment : 0);
    expect([ku.usages, ku.critical]).toEqual([expectedKu, true]);
    expect(cert.getExtension(ExtendedKeyUsageExtension)!.usages).toEqual([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]);
    const expectedSki = await SubjectKeyIdentifierExtension.create(leafKeys[leafAlg].publicKey);
    expect(cert.getExtension(SubjectKeyIdentifierExtension)!.keyId).toBe(expectedSki.keyId);
    expect(cert.getExtension(AuthorityKeyIdentifierExtension)!.keyId).toBe(ca.cert.getExtension(SubjectKeyIdentifierExtension)!.keyId);
    expect(cert.getExtension(SubjectAlternativeNameExtension)!.names.toJSON()).toEqual([{ type: 'url', value: 'spiffe://acme/cluster/c1' }]);
    expect(cert.subjectName.toJSON()).toEqual([{ O: ['dev'] }, { O: ['system:masters'] }, { CN: ['c1'] }]);
    expect(cert.issuer).toBe(ca.cert.subject);
    expect(cert.signatureAlgorithm).toMatchObject({ name: caAlg === 'P-256' ? 'ECDSA' : 'RSASSA-PKCS1-v1_5' });
  });

  it('builds the same TBSCertificate as the @peculiar/x509 reference path', async () => {
    const variants: Partial<IssueOptions>[] = [
      {},
      { identity: undefined, organizations: ['a', 'b:c'] },
      { usages: ['serverAuth', 'clientAuth'], dnsNames: ['broker.acme.example', '*.svc.example', 'localhost'] },
      { ipAddresses: ['127.0.0.1', '::1', '2001:db8::8:800:200c:417a', '::ffff:10.1.2.3', 'fe80::', '1:2:3:4:5:6:7:8'] },
      { now: new Date('2049-12-31T23:30:00.500Z'), lifetimeSeconds: 7200 }, // notAfter in GeneralizedTime
    ];
    const signer = caSigner(cas[caAlg]);
    for (const v of variants) {
      const t = leafTemplate({ ...base(cas[caAlg], leafKeys[leafAlg].publicKey), ...v }, signer.notBefore, new Date('2099-01-01'));
      const fast = Buffer.from(encodeLeafTbs(t, signer)).toString('hex');
      expect(fast).toBe(Buffer.from(await referenceLeafTbs(t, signer)).toString('hex'));
    }
  });
});

describe('issueCertificate', () => {
  it('sets validity to [now - 60 s, now + lifetime], in whole seconds', async () => {
    const now = new Date('2030-06-15T12:00:00.750Z');
    const issued = await issueCertificate({ ...base(cas['P-256'], leafKeys['P-256'].publicKey), now, lifetimeSeconds: 3600 });
    expect(issued.cert.notBefore.toISOString()).toBe('2030-06-15T11:59:00.000Z');
    expect(issued.cert.notAfter.toISOString()).toBe('2030-06-15T13:00:00.000Z');
    expect(issued.notAfter.getTime()).toBe(issued.cert.notAfter.getTime());
  });

  it('caps notAfter at the CA notAfter', async () => {
    const ca = cas['P-256'];
    const now = at(-HOUR_MS, ca.cert.notAfter);
    const issued = await issueCertificate({ ...base(ca, leafKeys['P-256'].publicKey), now, lifetimeSeconds: 24 * 3600 });
    expect(issued.notAfter.getTime()).toBe(ca.cert.notAfter.getTime());
    expect(issued.cert.notAfter.getTime()).toBe(ca.cert.notAfter.getTime());
  });

  it('uses a fresh random 16-byte positive serial, returned as lowercase hex', async () => {
    const opts = base(cas['P-256'], leafKeys['P-256'].publicKey);
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const issued = await issueCertificate(opts);
      expect(issued.serial).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(issued.cert.serialNumber.toLowerCase()).toBe(issued.serial);
      serials.add(issued.serial);
    }
    expect(serials.size).toBe(20);
  });

  it('returns PEM that parses to the same certificate', async () => {
    const issued = await issueCertificate(base(cas['RSA-2048'], leafKeys['P-256'].publicKey));
    const [parsed] = certificatesFromPem(issued.certPem);
    expect(Buffer.from(parsed!.rawData).equals(Buffer.from(issued.cert.rawData))).toBe(true);
    expect(issued.cert).toBe(issued.cert);
  });

  it.each<[string, Partial<IssueOptions>, string]>([
    ['zero lifetime', { lifetimeSeconds: 0 }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['NaN lifetime', { lifetimeSeconds: NaN }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['invalid now', { now: new Date(NaN) }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['no usages', { usages: [] }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['unknown usage', { usages: ['codeSigning' as 'clientAuth'] }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['bad CN', { commonName: '' }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['bad group', { organizations: ['a b'] }, 'PLX_CERTS_BAD_IDENTITY'],
    ['bad identity', { identity: { trustDomain: 'acme', kind: 'cluster', name: 'a/../b' } }, 'PLX_CERTS_BAD_IDENTITY'],
    ['bad DNS name', { dnsNames: ['-bad.example'] }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['bad IP', { ipAddresses: ['10.0.0.256'] }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['IPv6 zone', { ipAddresses: ['fe80::1%eth0'] }, 'PLX_CERTS_BAD_ARGUMENT'],
    ['CA expired', { now: at(1000, new Date('2040-06-15T12:00:00Z')) }, 'PLX_CERTS_EXPIRED'],
    ['CA not yet valid', { now: at(-HOUR_MS) }, 'PLX_CERTS_NOT_YET_VALID'],
  ])('rejects %s', async (_what, patch, code) => {
    expect(await codeOf(() => issueCertificate({ ...base(cas['P-256'], leafKeys['P-256'].publicKey), ...patch }))).toBe(code);
  });

  it('rejects private keys and unsupported keys as the leaf key', async () => {
    const opts = base(cas['P-256'], leafKeys['P-256'].privateKey);
    expect(await codeOf(() => issueCertificate(opts))).toBe('PLX_CERTS_BAD_ARGUMENT');
    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    expect(await codeOf(() => issueCertificate(base(cas['P-256'], p384.publicKey)))).toBe('PLX_CERTS_UNSUPPORTED_KEY');
  });
});

describe('ipv6Bytes', () => {
  const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

  it.each(['::', '::1', '1::', 'fe80::1:2', '2001:db8:0:0:1:0:0:1', '2001:db8::8:800:200c:417a', 'FFFF::A'])(
    'encodes %s as @peculiar/x509 does',
    (ip) => {
      expect(hex(implicitPrimitive(7, ipv6Bytes(ip)))).toBe(hex(new GeneralName('ip', ip).rawData));
    },
  );

  // @peculiar/x509 mis-reads a dotted IPv4 tail (as hex groups), so these are checked by hand.
  it.each([
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::192.0.2.1', '000000000000000000000000c0000201'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ])('encodes %s with its IPv4 tail', (ip, expected) => {
    expect(hex(ipv6Bytes(ip))).toBe(expected);
  });
});

describe('TLS', () => {
  it.each(ALGS)('Node builds a secure context from an issued %s leaf and its PKCS#8 key', async (alg) => {
    const keys = await generateKeyPair(alg);
    const issued = await issueCertificate({ ...base(cas['P-256'], keys.publicKey), usages: ['serverAuth', 'clientAuth'] });
    const key = await exportPrivateKeyPem(keys.privateKey);
    expect(() => createSecureContext({ key, cert: issued.certPem, ca: cas['P-256'].certPem })).not.toThrow();
    // Control: Node does check the key against the certificate.
    const wrong = await exportPrivateKeyPem((await generateKeyPair(alg)).privateKey);
    expect(() => createSecureContext({ key: wrong, cert: issued.certPem })).toThrow();
  });
});
