// The harness's error catalogue. Tests assert on `code`, never on messages.
export type HarnessErrorCode =
  | 'PLX_HARNESS_BINARIES_MISSING'   // run `npm run control-plane:install`
  | 'PLX_HARNESS_BAD_OPTION'
  | 'PLX_HARNESS_START_FAILED'       // a component exited or never became ready
  | 'PLX_HARNESS_TIMEOUT'
  | 'PLX_HARNESS_KUBECTL_FAILED'     // a kubectl the harness ran for a test exited non-zero
  | 'PLX_HARNESS_STOPPED';           // the set (or cluster) was already stopped

export class HarnessError extends Error {
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
    this.code = code;
  }
}
