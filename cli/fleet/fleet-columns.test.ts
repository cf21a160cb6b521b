import { describe, expect, it } from 'vitest';
import type { FleetCluster } from '../../broker/api/fleet.ts';
import { latencies, timeLeft } from './fleet-columns.ts';

describe('fleet columns', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it.each([
    ['2030-01-05T00:00:00Z', '4d'],
    ['2030-01-02T12:30:00Z', '36h30m'],
    ['2030-01-01T00:45:59Z', '45m'],
    ['2029-12-31T00:00:00Z', 'expired'],
    [null, '-'],
  ])('time left until %s is %s', (iso, want) => {
    expect(timeLeft(iso, now)).toBe(want);
  });

  it('lists measured RTTs by peer name', () => {
    expect(latencies({ latencies: { west: 2.25, north: 0.5 } } as unknown as FleetCluster)).toBe('north=0.5ms,west=2.3ms');
    expect(latencies({ latencies: {} } as unknown as FleetCluster)).toBe('-');
  });
});
