import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotHistogram } from './hot-histogram.ts';

describe('HotHistogram', () => {
  it('renders exactly what prom-client\'s Histogram renders for the same observations', async () => {
    const buckets = [0.00005, 0.001, 0.01, 1];
    const hot = new Registry();
    const ref = new Registry();
    const h = new HotHistogram({ name: 'x_seconds', help: 'x', buckets, registers: [hot] });
    const r = new Histogram({ name: 'x_seconds', help: 'x', buckets, registers: [ref] });
    for (const v of [0, 0.00005, 0.00007, 0.001, 0.5, 1, 3]) {
      h.observe(v);
      r.observe(v);
    }
    expect(await hot.metrics()).toBe(await ref.metrics());
    h.reset();
    expect(await hot.metrics()).toContain('x_seconds_count 0');
  });

  it('refuses buckets that do not ascend', () => {
    expect(() => new HotHistogram({ name: 'y', help: 'y', buckets: [1, 1], registers: [] })).toThrow(RangeError);
  });
});
