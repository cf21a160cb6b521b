import type { webcrypto } from 'node:crypto';
import { Name, Pkcs10CertificateRequestGenerator, SubjectAlternativeNameExtension } from '@peculiar/x509';
import type { JsonGeneralName } from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createCsr, readCsr } from './csr.ts';
import { generateKeyPair } from './keys.ts';
import type { KeyAlgorithm } from './keys.ts';
import { decodePemBlocks, encodePem } from './pem.ts';
import { certErrorCodeAsync as codeOf } from '../test/support/cert-error-code.ts';


const spki = async (k: webcrypto.CryptoKey) => Buffer.from(await crypto.subtle.exportKey('spki', k)).toString('hex');
const csrDer = (pem: string) => decodePemBlocks(pem, 'CERTIFICATE REQUEST')[0]!;
const toPem = (der: Uint8Array) => encodePem(der, 'CERTIFICATE REQUEST');

/** A CSR made directly with @peculiar/x509, for shapes createCsr refuses to make. */
async function rawCsr(o: {
  keys: webcrypto.CryptoKeyPair;
  name: Name;
  sans?: JsonGeneralName[];
  hash?: string;
}): Promise<string> {
  const ec = o.keys.privateKey.algorithm.name === 'ECDSA';
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: o.name,
    keys: o.keys,
    signingAlgorithm: ec ? { name: 'ECDSA', hash: o.hash ?? 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    extensions: o.sans ? [new SubjectAlternativeNameExtension(o.sans)] : [],
  });
  return csr.toString('pem');
}

describe.each<KeyAlgorithm>(['P-256', 'RSA-2048'])('createCsr → readCsr (%s)', (alg) => {
  it('carries CN, O= in order, the identity and the public key', async () => {
    const keys = await generateKeyPair(alg);
    const identity = { trustDomain: 'acme', kind: 'user', name: 'alice' } as const;
    const pem = await createCsr({ keys, commonName: 'alice', identity, organizations: ['dev', 'system:masters'] });
    expect(pem.startsWith('-----BEGIN CERTIFICATE REQUEST-----\n')).toBe(true);
    const csr = await readCsr(pem);
    expect(csr.commonName).toBe('alice');
    expect(csr.organizations).toEqual(['dev', 'system:masters']);
    expect(csr.identity).toEqual(identity);
    expect(csr.algorithm).toBe(alg);
    expect(await spki(csr.publicKey)).toBe(await spki(keys.publicKey));
  });
});

describe('createCsr', () => {
  it('omits identity and organizations when not given', async () => {
    const csr = await readCsr(await createCsr({ keys: await generateKeyPair(), commonName: 'c1' }));
    expect(csr.identity).toBeUndefined();
    expect(csr.organizations).toEqual([]);
  });

  it('validates its inputs', async () => {
    const keys = await generateKeyPair();
    expect(await codeOf(() => createCsr({ keys, commonName: '' }))).toBe('PLX_CERTS_BAD_ARGUMENT');
    expect(await codeOf(() => createCsr({ keys, commonName: 'a', organizations: ['a,b'] }))).toBe('PLX_CERTS_BAD_IDENTITY');
    const identity = { trustDomain: 'acme', kind: 'cluster', name: 'A' } as const;
    expect(await codeOf(() => createCsr({ keys, commonName: 'a', identity }))).toBe('PLX_CERTS_BAD_IDENTITY');
    const half = { privateKey: keys.privateKey } as webcrypto.CryptoKeyPair;
    expect(await codeOf(() => createCsr({ keys: half, commonName: 'a' }))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });
});

describe('readCsr rejects', () => {
  it('a tampered signature with PLX_CERTS_CSR_SIGNATURE', async () => {
    const der = new Uint8Array(csrDer(await createCsr({ keys: await generateKeyPair(), commonName: 'c1' })));
    der[der.length - 3]! ^= 0x01;
    expect(await codeOf(() => readCsr(toPem(der)))).toBe('PLX_CERTS_CSR_SIGNATURE');
  });

  it('tampered content (CN changed after signing) with PLX_CERTS_CSR_SIGNATURE', async () => {
    const der = Buffer.from(csrDer(await createCsr({ keys: await generateKeyPair(), commonName: 'alice' })));
    const at = der.indexOf('alice');
    der.write('mallo', at, 'latin1');
    expect(await codeOf(() => readCsr(toPem(der)))).toBe('PLX_CERTS_CSR_SIGNATURE');
  });

  it('a CSR signed by a key other than the one it carries', async () => {
    const [a, b] = [await generateKeyPair(), await generateKeyPair()];
    const pem = await rawCsr({ keys: { publicKey: a.publicKey, privateKey: b.privateKey }, name: new Name([{ CN: ['x'] }]) });
    expect(await codeOf(() => readCsr(pem))).toBe('PLX_CERTS_CSR_SIGNATURE');
  });

  it('unsupported keys with PLX_CERTS_UNSUPPORTED_KEY', async () => {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const pem = await rawCsr({ keys, name: new Name([{ CN: ['x'] }]), hash: 'SHA-384' });
    expect(await codeOf(() => readCsr(pem))).toBe('PLX_CERTS_UNSUPPORTED_KEY');
  });

  it('a weak signature algorithm (ecdsa-with-SHA1) with PLX_CERTS_BAD_CSR', async () => {
    const pem = await rawCsr({ keys: await generateKeyPair(), name: new Name([{ CN: ['x'] }]), hash: 'SHA-1' });
    expect(await codeOf(() => readCsr(pem))).toBe('PLX_CERTS_BAD_CSR');
  });

  it.each<[string, Name, JsonGeneralName[] | undefined]>([
    ['no CN', new Name([{ O: ['dev'] }]), undefined],
    ['two CNs', new Name([{ CN: ['a'] }, { CN: ['b'] }]), undefined],
    ['a CN with a newline', new Name([{ CN: [{ utf8String: 'a\nb' }] }]), undefined],
    ['an identity with dot segments', new Name([{ CN: ['a'] }]), [{ type: 'url', value: 'spiffe://acme/cluster/a/../b' }]],
    ['an identity with a port', new Name([{ CN: ['a'] }]), [{ type: 'url', value: 'spiffe://acme:1/cluster/a' }]],
    [
      'two URI SANs',
      new Name([{ CN: ['a'] }]),
      [
        { type: 'url', value: 'spiffe://acme/cluster/a' },
        { type: 'url', value: 'spiffe://acme/cluster/b' },
      ],
    ],
  ])('%s with PLX_CERTS_BAD_CSR', async (_what, name, sans) => {
    const pem = await rawCsr({ keys: await generateKeyPair(), name, ...(sans ? { sans } : {}) });
    expect(await codeOf(() => readCsr(pem))).toBe('PLX_CERTS_BAD_CSR');
  });

  it('malformed input with the right code', async () => {
    const good = csrDer(await createCsr({ keys: await generateKeyPair(), commonName: 'c1' }));
    expect(await codeOf(() => readCsr('not a csr'))).toBe('PLX_CERTS_BAD_PEM');
    expect(await codeOf(() => readCsr(undefined as unknown as string))).toBe('PLX_CERTS_BAD_PEM');
    expect(await codeOf(() => readCsr(toPem(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]))))).toBe('PLX_CERTS_BAD_CSR');
    expect(await codeOf(() => readCsr(toPem(good.subarray(0, good.length - 1))))).toBe('PLX_CERTS_BAD_CSR');
    expect(await codeOf(() => readCsr(toPem(Buffer.concat([good, Buffer.of(0)]))))).toBe('PLX_CERTS_BAD_CSR');
    expect(await codeOf(() => readCsr(toPem(good) + toPem(good)))).toBe('PLX_CERTS_BAD_CSR');
  });
});

describe('readCsr accepts', () => {
  it('other SAN types beside the identity, and reports only the identity', async () => {
    const pem = await rawCsr({
      keys: await generateKeyPair(),
      name: new Name([{ CN: ['c1'] }]),
      sans: [
        { type: 'dns', value: 'c1.example' },
        { type: 'url', value: 'spiffe://acme/cluster/c1' },
      ],
    });
    expect((await readCsr(pem)).identity).toEqual({ trustDomain: 'acme', kind: 'cluster', name: 'c1' });
  });
});
