import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRootCa } from './ca.ts';
import type { CertificateAuthority } from './ca.ts';
import { certificatesFromPem, certificateToPem, encodePem, fingerprintSha256, splitPemBlocks } from './pem.ts';
import { T0 } from '../test/support/test-certs.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';


let ca: CertificateAuthority;
let other: CertificateAuthority;
beforeAll(async () => {
  ca = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
  other = (await createRootCa({ clusterset: 'acme', now: T0 })).ca;
});

describe('PEM', () => {
  it('round-trips certificates canonically', () => {
    const pem = certificateToPem(ca.cert);
    expect(pem).toBe(ca.certPem);
    expect(pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    for (const line of pem.trim().split('\n').slice(1, -1)) expect(line.length).toBeLessThanOrEqual(64);
    const [back] = certificatesFromPem(pem);
    expect(Buffer.from(back!.rawData).equals(Buffer.from(ca.cert.rawData))).toBe(true);
  });

  it('splits several blocks, ignoring other labels and surrounding text', () => {
    const messy = [
      'subject=whatever\n',
      ca.certPem.replace(/\n/g, '\r\n'),
      encodePem(new Uint8Array([1, 2, 3]), 'PRIVATE KEY'),
      '# comment\n',
      // Re-wrapped at 76 columns with indentation: still the same DER.
      other.certPem.replace(/\n(?!-)/g, '').replace(/(-----BEGIN CERTIFICATE-----)(.*)(-----END)/s, (_m, b, body: string, e) => `${b}\n  ${body.match(/.{1,76}/g)!.join('\n  ')}\n${e}`),
    ].join('');
    const blocks = splitPemBlocks(messy, 'CERTIFICATE');
    expect(blocks).toEqual([ca.certPem, other.certPem]);
    expect(certificatesFromPem(messy)).toHaveLength(2);
  });

  it.each([
    ['', 'empty'],
    ['not pem at all', 'no block'],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n', 'no END'],
    ['-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'empty body'],
    ['-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n', 'bad base64 character'],
    ['-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n', 'bad base64 length'],
    ['-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END CERTIFICATE-----\n', 'headers'],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n', 'mismatched END'],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'valid base64, not a certificate'],
  ])('rejects %j (%s) with PLX_CERTS_BAD_PEM', (pem) => {
    expect(codeOf(() => certificatesFromPem(pem))).toBe('PLX_CERTS_BAD_PEM');
  });

  it('rejects non-strings', () => {
    expect(codeOf(() => splitPemBlocks(undefined as unknown as string, 'CERTIFICATE'))).toBe('PLX_CERTS_BAD_PEM');
  });
});

describe('fingerprintSha256', () => {
  it('is sha256 of the DER, as "sha256:<64 lowercase hex>", from a certificate or its PEM', () => {
    const expected = `sha256:${createHash('sha256').update(Buffer.from(ca.cert.rawData)).digest('hex')}`;
    expect(fingerprintSha256(ca.cert)).toBe(expected);
    expect(fingerprintSha256(ca.certPem)).toBe(expected);
    expect(expected).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fingerprintSha256(other.cert)).not.toBe(expected);
  });

  it('rejects a string without a certificate', () => {
    expect(codeOf(() => fingerprintSha256('nope'))).toBe('PLX_CERTS_BAD_PEM');
  });
});
