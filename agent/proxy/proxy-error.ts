// The access proxy's refusals: each has a stable code and the HTTP status the client
// sees, both in the agent's catalogue (../errors.ts). Tests assert on `code`, never on messages.
import { AGENT_ERRORS, type AnyAgentErrorCode } from '../errors.ts';

/** The access proxy's codes: the PLX_AGENT_PROXY_* entries of the agent's catalogue. */
export type ProxyErrorCode = Extract<AnyAgentErrorCode, `PLX_AGENT_PROXY_${string}`>;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;

  constructor(code: ProxyErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
  }

  get status(): number {
    return AGENT_ERRORS[this.code].status;
  }
}
