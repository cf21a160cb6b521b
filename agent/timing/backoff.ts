// Exponential backoff with jitter, shared by the work queue, informer restarts and the
// broker lease loop. Pure: the random source is injected so tests get exact delays.

export interface BackoffOptions {
  /** Delay after the first failure. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 100, maxMs: 60_000, jitter: 0.2 };

/** Delay before retry number `attempt` (1 = first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^(n-1) overflows to Infinity for large n; min() keeps it finite.
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(n - 1, 60));
  const jitter = Math.min(1, Math.max(0, o.jitter));
  return Math.max(0, Math.round(raw * (1 - jitter * random())));
}

export function validateBackoff(o: BackoffOptions): BackoffOptions {
  if (!(o.baseMs > 0) || !(o.maxMs >= o.baseMs) || !(o.jitter >= 0 && o.jitter <= 1)) {
    throw new RangeError(`invalid backoff ${JSON.stringify(o)}: need 0 < baseMs <= maxMs and 0 <= jitter <= 1`);
  }
  return Object.freeze({ ...o });
}
