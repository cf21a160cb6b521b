import { describe, expect, it } from 'vitest';
import { Ewma } from './ewma.ts';

describe('Ewma', () => {
  it('takes the first sample as is, then blends by alpha', () => {
    const e = new Ewma({ alpha: 0.25 });
    expect(e.value).toBeUndefined();
    expect(e.add(8)).toBe(8);
    expect(e.add(16)).toBe(10);
    expect(e.add(10)).toBe(10);
  });

  it('damps a single outlier and converges on a lasting change', () => {
    const e = new Ewma({ alpha: 0.3 });
    for (let i = 0; i < 10; i++) e.add(5);
    expect(e.add(500)).toBeLessThan(160);
    for (let i = 0; i < 30; i++) e.add(50);
    expect(Math.abs(e.value! - 50)).toBeLessThan(1);
  });

  it('alpha 1 follows the last sample; reset forgets', () => {
    const e = new Ewma({ alpha: 1 });
    e.add(3);
    expect(e.add(7)).toBe(7);
    e.reset();
    expect(e.value).toBeUndefined();
  });

  it.each([0, -0.1, 1.5, Number.NaN])('refuses alpha %s', (alpha) => {
    expect(() => new Ewma({ alpha })).toThrow(RangeError);
  });
});
