// The stable code a certs/ function fails with, for unit tests that assert on codes, never
// on messages: the CertError's code, "not a CertError: …" for anything else, undefined when
// it did not fail. One copy for every certs/ test (eleven files each had their own).
import { CertError } from '../../certs/errors.ts';

const codeOfError = (e: unknown): string => (e instanceof CertError ? e.code : `not a CertError: ${String(e)}`);

export function certErrorCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return codeOfError(e);
  }
  return undefined;
}

export async function certErrorCodeAsync(f: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await f();
  } catch (e) {
    return codeOfError(e);
  }
  return undefined;
}
