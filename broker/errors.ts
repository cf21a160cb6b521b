// The broker's error class. Its codes, API and local, are the catalogue in api/errors.ts;
// local codes never cross the wire: they come from the CLI and from the data directory
// (init, start) and map to a process exit, not to a response.
import { BROKER_LOCAL_ERRORS, BrokerErrorCodes, type BrokerErrorCode, type LocalBrokerErrorCode } from './api/errors.ts';

export const LocalBrokerErrorCodes = Object.keys(BROKER_LOCAL_ERRORS) as readonly LocalBrokerErrorCode[];
export type { LocalBrokerErrorCode };

export type AnyBrokerErrorCode = BrokerErrorCode | LocalBrokerErrorCode;

export interface BrokerErrorOptions {
  cause?: unknown;
  details?: unknown;
}

export class BrokerError extends Error {
  readonly code: AnyBrokerErrorCode;
  readonly details: unknown;

  constructor(code: AnyBrokerErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.details = options.details;
  }

  /** HTTP status for API codes; 500 for local codes, which should never reach a response. */
  get statusCode(): number {
    return Object.hasOwn(BrokerErrorCodes, this.code) ? BrokerErrorCodes[this.code as BrokerErrorCode] : 500;
  }
}

export function isBrokerError(e: unknown): e is BrokerError {
  return e instanceof BrokerError;
}
