import { afterEach, describe, expect, it, vi } from 'vitest';
import { renewalTime } from './renewal.ts';
import type { RenewalOptions } from './renewal.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';


// A 30-day certificate: lifetime 2,592,000,000 ms.
const notBefore = new Date('2030-01-01T00:00:00.000Z');
const notAfter = new Date('2030-01-31T00:00:00.000Z');
const LIFE = notAfter.getTime() - notBefore.getTime();
const fixed = (r: number) => () => r;
const renew = (o: Partial<RenewalOptions> & { random: () => number }) => renewalTime({ notBefore, notAfter, ...o });
const offset = (d: Date) => (d.getTime() - notBefore.getTime()) / LIFE;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('renewalTime', () => {
  it('is exactly 2/3 of the lifetime when the jitter draw is centred (r = 0.5)', () => {
    expect(renew({ random: fixed(0.5) }).getTime()).toBe(notBefore.getTime() + Math.floor((LIFE * 2) / 3));
  });

  it('moves by up to ±10% of the lifetime with the default jitter', () => {
    expect(offset(renew({ random: fixed(0) }))).toBeCloseTo(2 / 3 - 0.1, 9);
    expect(offset(renew({ random: fixed(0.75) }))).toBeCloseTo(2 / 3 + 0.05, 9);
    expect(offset(renew({ random: fixed(0.999999) }))).toBeCloseTo(2 / 3 + 0.1, 5);
  });

  it('spreads a fleet: different draws give different times', () => {
    const times = new Set([0, 0.2, 0.4, 0.6, 0.8].map((r) => renew({ random: fixed(r) }).getTime()));
    expect(times.size).toBe(5);
  });

  it('honours a custom fraction and jitter', () => {
    expect(offset(renew({ random: fixed(0.5), fraction: 0.5, jitter: 0 }))).toBe(0.5);
    expect(offset(renew({ random: fixed(1 / 4), fraction: 0.8, jitter: 0.2 }))).toBeCloseTo(0.7, 9);
  });

  it('stays strictly inside (notBefore, notAfter) however large the jitter', () => {
    const early = renew({ random: fixed(0), fraction: 0.05, jitter: 0.9 });
    const late = renew({ random: fixed(0.999), fraction: 0.95, jitter: 0.9 });
    expect(early.getTime()).toBe(notBefore.getTime() + 1);
    expect(late.getTime()).toBe(notAfter.getTime() - 1);
  });

  it('draws once and never reads the clock', () => {
    const random = vi.fn(() => 0.3);
    const now = vi.spyOn(Date, 'now');
    renew({ random });
    expect(random).toHaveBeenCalledTimes(1);
    expect(now).not.toHaveBeenCalled();
  });

  it('is computed from the certificate dates alone (same inputs, same answer)', () => {
    expect(renew({ random: fixed(0.123) }).getTime()).toBe(renew({ random: fixed(0.123) }).getTime());
  });

  it.each<[string, Partial<RenewalOptions>]>([
    ['notAfter before notBefore', { notAfter: notBefore, notBefore: notAfter }],
    ['zero lifetime', { notAfter: notBefore }],
    ['invalid date', { notBefore: new Date(NaN) }],
    ['fraction 0', { fraction: 0 }],
    ['fraction 1', { fraction: 1 }],
    ['negative jitter', { jitter: -0.1 }],
    ['jitter 1', { jitter: 1 }],
    ['random() = 1', { random: fixed(1) }],
    ['random() < 0', { random: fixed(-0.1) }],
    ['random() NaN', { random: fixed(NaN) }],
  ])('rejects %s with PLX_CERTS_BAD_ARGUMENT', (_what, patch) => {
    expect(codeOf(() => renew({ random: fixed(0.5), ...patch }))).toBe('PLX_CERTS_BAD_ARGUMENT');
  });
});
