// Polls a condition until it holds: the one polling helper of the harness, integration and
// e2e tests and benchmarks (no sleeps where a condition can be polled). One argument order:
// `waitFor(probe, { what, timeoutMs?, intervalMs?, failFast? })`.
import { setTimeout as delay } from 'node:timers/promises';
import { HarnessError } from './errors.ts';

export interface WaitOptions {
  what: string;                        // for the timeout message: "etcd healthy"
  timeoutMs?: number;                  // default 30 s
  intervalMs?: number;                 // default 100
  /** Checked before every attempt; an Error returned here ends the wait at once. */
  failFast?: () => Error | undefined;
}

/** "Not yet": a probe returns one of these until the condition holds. */
type NotYet = undefined | null | false;

/**
 * Resolves with the first value `probe` returns that is not undefined, null or false (so a
 * boolean probe works as is); a throwing probe counts as "not yet". Times out with
 * PLX_HARNESS_TIMEOUT naming `what` and the probe's last error.
 */
export async function waitFor<T>(probe: () => T | NotYet | Promise<T | NotYet>, o: WaitOptions): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const fatal = o.failFast?.();
    if (fatal) throw fatal;
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : '';
      throw new HarnessError('PLX_HARNESS_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${o.what}${why}`, { cause: last });
    }
    await delay(o.intervalMs ?? 100);
  }
}
