// Polls a condition until it holds. Used instead of fixed sleeps everywhere in the harness.
import { setTimeout as delay } from 'node:timers/promises';
import { HarnessError } from './errors.ts';

export interface WaitOptions {
  what: string;                        // for the timeout message: "etcd healthy"
  timeoutMs: number;
  intervalMs?: number;                 // default 100
  /** Checked before every attempt; an Error returned here ends the wait at once. */
  failFast?: () => Error | undefined;
}

/** Resolves with the first defined value `probe` returns; a throwing probe counts as "not yet". */
export async function waitFor<T>(probe: () => Promise<T | undefined>, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let last: unknown;
  for (;;) {
    const fatal = o.failFast?.();
    if (fatal) throw fatal;
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : '';
      throw new HarnessError('PLX_HARNESS_TIMEOUT', `timed out after ${o.timeoutMs} ms waiting for ${o.what}${why}`, { cause: last });
    }
    await delay(o.intervalMs ?? 100);
  }
}
