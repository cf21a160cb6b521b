// The broker's error catalogue. API errors carry a code from api/errors.ts (and its HTTP
// status); the local codes below never cross the wire: they come from the CLI and from
// the data directory (init, start) and map to a process exit, not to a response.
import { BrokerErrorCodes, type BrokerErrorCode } from './api/errors.ts';

export const LocalBrokerErrorCodes = [
  'PLX_BROKER_ALREADY_INITIALIZED',
  'PLX_BROKER_NOT_INITIALIZED',
  'PLX_BROKER_DATA_DIR_NOT_EMPTY',
  'PLX_BROKER_CONFIG_INVALID',
  'PLX_BROKER_UNREACHABLE',
  'PLX_BROKER_BAD_RESPONSE',
  'PLX_BROKER_LISTEN_FAILED',
] as const;
export type LocalBrokerErrorCode = (typeof LocalBrokerErrorCodes)[number];

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
