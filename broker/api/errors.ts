// The broker's error catalogue: every error the API returns carries one of these stable
// codes. Clients (agent/, CLI) branch on `code`, never on the message.

export const BrokerErrorCodes = {
  PLX_BROKER_BAD_REQUEST: 400,
  PLX_BROKER_VALIDATION: 400,
  /** An RBAC baseline broke a safety rule; details list each problem with its PLX_RBAC_* code. */
  PLX_BROKER_RBAC_REJECTED: 422,
  PLX_BROKER_BODY_TOO_LARGE: 413,
  PLX_BROKER_UNSUPPORTED_MEDIA_TYPE: 415,
  PLX_BROKER_BAD_CSR: 400,
  PLX_BROKER_CSR_SIGNATURE: 400,
  PLX_BROKER_CSR_IDENTITY_MISMATCH: 403,
  PLX_BROKER_TOKEN_INVALID: 401,
  PLX_BROKER_TOKEN_EXPIRED: 401,
  PLX_BROKER_TOKEN_USED: 401,
  PLX_BROKER_TOKEN_REVOKED: 401,
  PLX_BROKER_UNAUTHENTICATED: 401,
  PLX_BROKER_CERT_UNTRUSTED: 401,
  PLX_BROKER_CERT_EXPIRED: 401,
  PLX_BROKER_CLUSTER_REVOKED: 401,
  /** POST /v1/renew with a cluster certificate that a later renewal superseded: only the newest renews. */
  PLX_BROKER_CERT_SUPERSEDED: 401,
  PLX_BROKER_USER_REVOKED: 401,
  PLX_BROKER_FORBIDDEN: 403,
  PLX_BROKER_NOT_FOUND: 404,
  PLX_BROKER_CONFLICT: 409,
  /** CA rollover: a wait phase is not complete; details.lagging names the clusters (see broker/ca/). */
  PLX_BROKER_CA_LAGGING: 409,
  /** CA rollover: the requested phase is not the next one (or, for rollback, not the last one done). */
  PLX_BROKER_CA_PHASE_ORDER: 409,
  /** CA rollover: this step cannot be undone safely (e.g. certificates were issued from the new root). */
  PLX_BROKER_CA_ROLLBACK_REFUSED: 409,
  /** An export from a namespace the broker protects (`--protected-namespaces`, broker/api/export-guard.ts). */
  PLX_BROKER_EXPORT_PROTECTED_NAMESPACE: 403,
  /** An export with a loopback, link-local, unspecified, multicast or IPv4-mapped endpoint address. */
  PLX_BROKER_EXPORT_ADDRESS_REFUSED: 422,
  PLX_BROKER_NOT_READY: 503,
  PLX_BROKER_INTERNAL: 500,
} as const;

export type BrokerErrorCode = keyof typeof BrokerErrorCodes;

/** JSON body of every non-2xx response. */
export interface ApiErrorBody {
  error: { code: BrokerErrorCode; message: string; details?: unknown };
}

export function isBrokerErrorCode(s: unknown): s is BrokerErrorCode {
  return typeof s === 'string' && Object.hasOwn(BrokerErrorCodes, s);
}
