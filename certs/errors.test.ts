import { describe, expect, it } from 'vitest';
import { CertError, isCertError } from './errors.ts';

describe('CertError', () => {
  it('carries a stable code and the cause', () => {
    const cause = new Error('low level');
    const e = new CertError('PLX_CERTS_BAD_PEM', 'bad', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('PLX_CERTS_BAD_PEM');
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('CertError');
  });

  it('is recognised by isCertError, optionally by code', () => {
    const e = new CertError('PLX_CERTS_EXPIRED', 'x');
    expect(isCertError(e)).toBe(true);
    expect(isCertError(e, 'PLX_CERTS_EXPIRED')).toBe(true);
    expect(isCertError(e, 'PLX_CERTS_UNTRUSTED')).toBe(false);
    expect(isCertError(new Error('x'))).toBe(false);
  });
});
