// Errors of the person-side commands (`plexus login`, `plexus kubeconfig`). A refusal by
// the broker keeps the broker's own code (e.g. PLX_BROKER_USER_REVOKED), so scripts and
// tests branch on one stable code whichever side decided.
import type { BrokerErrorCode } from '../../broker/api/errors.ts';

export type UserCliErrorCode =
  | 'PLX_USER_BAD_ARGUMENT'
  | 'PLX_USER_NOT_LOGGED_IN'
  | 'PLX_USER_CA_PIN_MISMATCH'
  | 'PLX_USER_IDENTITY_MISMATCH'
  | 'PLX_USER_BROKER_UNREACHABLE'
  | 'PLX_USER_BROKER_PROTOCOL'
  | 'PLX_USER_CONFIG_DIR'
  | 'PLX_USER_KUBECONFIG';

export class UserCliError extends Error {
  readonly code: UserCliErrorCode | BrokerErrorCode | 'PLX_BROKER_BAD_RESPONSE';

  constructor(code: UserCliError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserCliError';
    this.code = code;
  }
}
