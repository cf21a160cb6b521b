// The one error catalogue of certs/. Callers branch on `code`; messages are for humans
// and may change. Every failure this library detects is a CertError.

export type CertErrorCode =
  | 'PLX_CERTS_BAD_PEM'
  | 'PLX_CERTS_BAD_IDENTITY'
  | 'PLX_CERTS_BAD_CSR'
  | 'PLX_CERTS_CSR_SIGNATURE'
  | 'PLX_CERTS_UNSUPPORTED_KEY'
  | 'PLX_CERTS_UNTRUSTED'
  | 'PLX_CERTS_EXPIRED'
  | 'PLX_CERTS_NOT_YET_VALID'
  | 'PLX_CERTS_KEY_USAGE'
  | 'PLX_CERTS_TRUST_DOMAIN'
  | 'PLX_CERTS_BAD_ARGUMENT';

export class CertError extends Error {
  readonly code: CertErrorCode;

  constructor(code: CertErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertError';
    this.code = code;
  }
}

export function isCertError(e: unknown, code?: CertErrorCode): e is CertError {
  return e instanceof CertError && (code === undefined || e.code === code);
}
