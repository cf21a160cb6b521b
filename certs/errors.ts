// The one error catalogue of certs/. Callers branch on `code`; messages are for humans
// and may change. Every failure this library detects is a CertError.

/** One entry of an error catalogue: what the code means and what the reader should do. */
export interface ErrorCodeEntry {
  readonly meaning: string;
  readonly remedy: string;
}

/** Every PLX_CERTS_* code, with meaning and remedy (docs/errors.md is generated from it). */
export const CERT_ERRORS = {
  PLX_CERTS_BAD_PEM: { meaning: 'A PEM block is malformed, of the wrong type, or not a single block where one is required.', remedy: 'Pass the PEM file exactly as written (certificate, key or bundle, as named).' },
  PLX_CERTS_BAD_IDENTITY: { meaning: 'A SPIFFE identity, trust domain, cluster or user name breaks its grammar (spiffe://<trust domain>/<kind>/<name>).', remedy: 'Use lowercase DNS names and RFC-1123 cluster IDs (broker/api/names.ts).' },
  PLX_CERTS_BAD_CSR: { meaning: 'A CSR is not a well-formed PKCS#10 request.', remedy: 'Make the CSR with Plexus (agent join, login).' },
  PLX_CERTS_CSR_SIGNATURE: { meaning: 'A CSR\'s signature does not verify with its own key.', remedy: 'Make a new CSR.' },
  PLX_CERTS_UNSUPPORTED_KEY: { meaning: 'The key is neither EC P-256 nor RSA-2048.', remedy: 'Use a P-256 (default) or RSA-2048 key.' },
  PLX_CERTS_UNTRUSTED: { meaning: 'A certificate does not chain to any root of the trust bundle.', remedy: 'Use a certificate of this clusterset, or the current trust bundle.' },
  PLX_CERTS_EXPIRED: { meaning: 'A certificate\'s notAfter has passed.', remedy: 'Renew it (agents renew on their own; people run `plexus login --renew`).' },
  PLX_CERTS_NOT_YET_VALID: { meaning: 'A certificate\'s notBefore is in the future.', remedy: 'Check the clocks of issuer and verifier.' },
  PLX_CERTS_KEY_USAGE: { meaning: 'A certificate lacks the key usage or extended key usage the use needs (client or server auth, CA).', remedy: 'Use a certificate issued for that purpose.' },
  PLX_CERTS_TRUST_DOMAIN: { meaning: 'A certificate\'s identity belongs to another trust domain (clusterset).', remedy: 'Use an identity of this clusterset.' },
  PLX_CERTS_BAD_PKCS12: { meaning: 'A file is not a readable PKCS#12 (RFC 7292), or holds no private key with its certificate.', remedy: 'Pass the .p12 exactly as written (`plexus broker admin-p12`, `plexus login --p12`, `plexus export-p12`).' },
  PLX_CERTS_PKCS12_PASSWORD: { meaning: 'The PKCS#12 integrity check fails with the password given: the password is wrong (or the file was altered).', remedy: 'Give the password the file was written with.' },
  PLX_CERTS_BAD_ARGUMENT: { meaning: 'An argument to the PKI library is invalid (lifetime, DNS name, common name, …).', remedy: 'Fix the argument the message names.' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type CertErrorCode = keyof typeof CERT_ERRORS;

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
