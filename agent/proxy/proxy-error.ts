// The access proxy's refusals: each has a stable code and the HTTP status the client
// sees. Tests assert on `code`, never on messages.
export const ProxyErrorStatus = {
  PLX_AGENT_PROXY_UNAUTHENTICATED: 401,
  PLX_AGENT_PROXY_CERT_UNTRUSTED: 401,
  PLX_AGENT_PROXY_CERT_EXPIRED: 401,
  PLX_AGENT_PROXY_USER_REVOKED: 401,
  PLX_AGENT_PROXY_NOT_A_USER: 403,
  PLX_AGENT_PROXY_IMPERSONATION_REFUSED: 403,
  PLX_AGENT_PROXY_NOT_READY: 503,
  PLX_AGENT_PROXY_REVOCATIONS_STALE: 503,
  PLX_AGENT_PROXY_UPSTREAM: 502,
} as const;

export type ProxyErrorCode = keyof typeof ProxyErrorStatus;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;

  constructor(code: ProxyErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
  }

  get status(): number {
    return ProxyErrorStatus[this.code];
  }
}
