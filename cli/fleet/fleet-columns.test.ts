import { describe, expect, it } from 'vitest';
import type { FleetCluster } from '../../broker/api/fleet.ts';
import { clusterColumns, latencies, timeAgo, timeLeft } from './fleet-columns.ts';
import { renderTable } from '../output.ts';

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

  it.each([
    ['2029-12-31T23:59:57Z', '3s ago'],
    ['2029-12-31T23:45:00Z', '15m ago'],
    ['2029-12-31T21:00:00Z', '3h ago'],
    ['2029-12-25T00:00:00Z', '7d ago'],
    [null, '-'],
  ])('last seen at %s is %s', (iso, want) => {
    expect(timeAgo(iso, now)).toBe(want);
  });

  // Regression (issue 12): a cluster whose agent was stopped must read as what it is:
  // Unreachable, when it was last seen, and what it last reported.
  it('shows a dead cluster as Unreachable with when it was last seen and its last-known version and imports', () => {
    const dead = {
      cluster: 'cluster-1', health: 'Unreachable', leaseRenewedAt: '2029-12-31T23:59:20Z', reportedAt: '2029-12-31T23:59:20Z', labels: {},
      zone: null, region: null, latencies: {}, agentVersion: '0.1.0', certificateNotAfter: null, exports: 3, imports: 2,
      rbac: { targeted: false, currentRevision: 1, appliedRevision: 1, compliant: true, driftCount: 0, clashes: 0, errors: 0 },
    } satisfies FleetCluster;
    const [header, row] = renderTable([dead], clusterColumns(now)).trimEnd().split('\n');
    expect(header).toMatch(/^CLUSTER\s+HEALTH\s+LAST SEEN\s+LATENCY\s+VERSION/);
    expect(row).toMatch(/^cluster-1\s+Unreachable\s+40s ago\s+-\s+0\.1\.0\s+.*\s3\s+2$/);
  });
});
