// Errors of the person-side commands (`plexus login`, `plexus kubeconfig`). A refusal by
// the broker keeps the broker's own code (e.g. PLX_BROKER_USER_REVOKED), so scripts and
// tests branch on one stable code whichever side decided.
import type { BrokerErrorCode } from '../../broker/api/errors.ts';
import type { CliErrorCode } from '../errors.ts';

/** The PLX_USER_* entries of the CLI's catalogue (../errors.ts). */
export type UserCliErrorCode = Extract<CliErrorCode, `PLX_USER_${string}`>;

export class UserCliError extends Error {
  readonly code: UserCliErrorCode | BrokerErrorCode | 'PLX_BROKER_BAD_RESPONSE';

  constructor(code: UserCliError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserCliError';
    this.code = code;
  }
}
