import { generateKeyPairSync } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, webCryptoSignParams } from './keys.ts';
import type { KeyAlgorithm } from './keys.ts';
import { certErrorCodeAsync as codeOf } from '../test/support/cert-error-code.ts';


const data = new TextEncoder().encode('plexus');

describe.each<KeyAlgorithm>(['P-256', 'RSA-2048'])('%s keys', (alg) => {
  it('generate extractable pairs that round-trip through PKCS#8 PEM', async () => {
    const keys = await generateKeyPair(alg);
    expect(keys.privateKey.extractable).toBe(true);
    const pem = await exportPrivateKeyPem(keys.privateKey);
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    const imported = await importPrivateKeyPem(pem);
    expect(imported.type).toBe('private');
    const params = { ...webCryptoSignParams(alg), hash: 'SHA-256' };
    const sig = await crypto.subtle.sign(params, imported, data);
    expect(await crypto.subtle.verify(params, keys.publicKey, sig, data)).toBe(true);
    expect(await exportPrivateKeyPem(imported)).toBe(pem);
  });
});

describe('key algorithms', () => {
  it('default to P-256, with RSA-2048 as 2048-bit, exponent 65537, PKCS#1 v1.5 SHA-256', async () => {
    const ec = await generateKeyPair();
    expect(ec.privateKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    const rsa = await generateKeyPair('RSA-2048');
    expect(rsa.privateKey.algorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, hash: { name: 'SHA-256' } });
    expect(Array.from((rsa.privateKey.algorithm as unknown as { publicExponent: Uint8Array }).publicExponent)).toEqual([1, 0, 1]);
  });

  it('refuses other algorithms', async () => {
    expect(await codeOf(() => generateKeyPair('P-384' as KeyAlgorithm))).toBe('PLX_CERTS_UNSUPPORTED_KEY');
  });
});

describe('importPrivateKeyPem', () => {
  const pkcs8 = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

  it.each([
    ['EC P-384', () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey)],
    ['RSA-1024', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)],
    ['RSA-2048 exponent 3', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey)],
    ['Ed25519', () => pkcs8(generateKeyPairSync('ed25519').privateKey)],
  ])('rejects %s with PLX_CERTS_UNSUPPORTED_KEY', async (_name, make) => {
    expect(await codeOf(() => importPrivateKeyPem(make()))).toBe('PLX_CERTS_UNSUPPORTED_KEY');
  });

  it('accepts keys made by other tools (Node/OpenSSL PKCS#8)', async () => {
    const pem = pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    expect((await importPrivateKeyPem(pem)).algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
  });

  it.each([
    ['no block', 'hello'],
    ['SEC1 label', '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n'],
    ['encrypted', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n'],
    ['garbage DER', '-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n'],
  ])('rejects %s with PLX_CERTS_BAD_PEM', async (_name, pem) => {
    expect(await codeOf(() => importPrivateKeyPem(pem))).toBe('PLX_CERTS_BAD_PEM');
  });

  it('rejects two keys in one PEM', async () => {
    const a = await exportPrivateKeyPem((await generateKeyPair()).privateKey);
    expect(await codeOf(() => importPrivateKeyPem(a + a))).toBe('PLX_CERTS_BAD_PEM');
  });
});

describe('exportPrivateKeyPem', () => {
  it('refuses public and non-extractable keys', async () => {
    const keys = await generateKeyPair();
    expect(await codeOf(() => exportPrivateKeyPem(keys.publicKey))).toBe('PLX_CERTS_BAD_ARGUMENT');
    const locked = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    expect(await codeOf(() => exportPrivateKeyPem(locked.privateKey))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });
});
