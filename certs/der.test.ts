import { describe, expect, it } from 'vitest';
import { childrenOf, oid, readNode, readOid, readRoot, sequence, time, unsignedInteger, tlv, TAG } from './der.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));


describe('DER writer', () => {
  it('encodes OIDs (known vectors)', () => {
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
    expect(hex(oid('1.3.6.1.5.5.7.3.1'))).toBe('06082b06010505070301');
  });

  it('encodes long lengths minimally', () => {
    expect(hex(tlv(TAG.OCTET_STRING, new Uint8Array(127))).slice(0, 4)).toBe('047f');
    expect(hex(tlv(TAG.OCTET_STRING, new Uint8Array(128))).slice(0, 6)).toBe('048180');
    expect(hex(tlv(TAG.OCTET_STRING, new Uint8Array(256))).slice(0, 8)).toBe('04820100');
  });

  it('encodes unsigned integers with a sign octet only when needed', () => {
    expect(hex(unsignedInteger(bytes('7f')))).toBe('02017f');
    expect(hex(unsignedInteger(bytes('80')))).toBe('02020080');
    expect(hex(unsignedInteger(bytes('000001')))).toBe('020101');
  });

  it('uses UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280)', () => {
    expect(Buffer.from(time(new Date('2049-12-31T23:59:59.999Z'))).toString('latin1').slice(2)).toBe('491231235959Z');
    expect(time(new Date('2049-12-31T23:59:59Z'))[0]).toBe(TAG.UTC_TIME);
    const g = time(new Date('2050-01-01T00:00:00Z'));
    expect(g[0]).toBe(TAG.GENERALIZED_TIME);
    expect(Buffer.from(g).toString('latin1').slice(2)).toBe('20500101000000Z');
  });
});

describe('DER reader', () => {
  it('reads what the writer wrote', () => {
    const der = sequence(oid('2.5.29.19'), unsignedInteger(bytes('05')));
    const root = readRoot(der);
    const [a, b] = childrenOf(der, root);
    expect(readOid(der, a!)).toBe('2.5.29.19');
    expect(b!.tag).toBe(TAG.INTEGER);
  });

  it.each([
    ['3003020101ff', 'trailing bytes'],
    ['3005020101', 'content overruns'],
    ['30', 'truncated header'],
    ['3080020101 0000'.replace(' ', ''), 'indefinite length'],
    ['308103020101', 'non-minimal long form'],
    ['30820003020101', 'non-minimal two-byte length'],
    ['1f2a0100', 'multi-byte tag'],
  ])('rejects %s (%s)', (h) => {
    expect(codeOf(() => readRoot(bytes(h)))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });

  it('rejects children that overrun their parent', () => {
    const der = bytes('3003020201ff');
    expect(codeOf(() => childrenOf(der, readNode(der, 0)))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });

  it('rejects malformed OIDs', () => {
    for (const h of ['0600', '06022a86', '0603808001']) {
      const der = bytes(h);
      expect(codeOf(() => readOid(der, readRoot(der)))).toBe('PLX_CERTS_BAD_ARGUMENT');
    }
  });
});
