import { describe, expect, it } from 'vitest';
import { backoffDelay, validateBackoff } from './backoff.ts';

describe('backoffDelay', () => {
  const o = { baseMs: 10, maxMs: 100, jitter: 0.5 };
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 99, 5000].map((n) => backoffDelay(n, o, () => 0))).toEqual([10, 20, 40, 80, 100, 100, 100]);
  });
  it('jitters downwards only, within the fraction', () => {
    expect(backoffDelay(1, o, () => 0.5)).toBe(8);
    expect(backoffDelay(3, o, () => 0.99)).toBeGreaterThanOrEqual(20);
  });
  it('rejects nonsense options', () => {
    expect(() => validateBackoff({ baseMs: 0, maxMs: 1, jitter: 0 })).toThrow(RangeError);
    expect(() => validateBackoff({ baseMs: 10, maxMs: 5, jitter: 0 })).toThrow(RangeError);
    expect(() => validateBackoff({ baseMs: 1, maxMs: 5, jitter: 2 })).toThrow(RangeError);
  });
});
