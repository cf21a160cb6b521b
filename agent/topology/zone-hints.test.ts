import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './policy.ts';
import type { ClusterView, RankingContext } from './ranking.ts';
import { STANDBY_ZONE, computeZoneHints } from './zone-hints.ts';

const views: Record<string, ClusterView> = {
  near: { latencyMs: 2, healthy: true },
  far: { latencyMs: 50, healthy: true },
  down: { latencyMs: 1, healthy: false },
};
const ctx: RankingContext = { localCluster: 'home', localZone: 'z1', cluster: (id) => views[id], latencyBandMs: 5 };
const ep = (cluster: string, zone?: string) => ({ cluster, zone });

function hintsByCluster(h: Map<{ cluster: string; zone?: string }, string[]> | null) {
  return h && [...h].map(([e, z]) => `${e.cluster}${e.zone ? `@${e.zone}` : ''}:${z.join('+')}`);
}

describe('computeZoneHints', () => {
  it('sends each local zone to its own endpoints, and a zone without any to the rest of the local cluster', () => {
    const eps = [ep('home', 'z1'), ep('home', 'z2'), ep('near'), ep('far')];
    expect(hintsByCluster(computeZoneHints(ctx, DEFAULT_POLICY, ['z1', 'z2', 'z3'], eps))).toEqual([
      'home@z1:z1+z3', 'home@z2:z2+z3', `near:${STANDBY_ZONE}`, `far:${STANDBY_ZONE}`,
    ]);
  });

  it('without local endpoints, every zone goes to the nearest healthy cluster', () => {
    expect(hintsByCluster(computeZoneHints(ctx, DEFAULT_POLICY, ['z1', 'z2'], [ep('far'), ep('near'), ep('down')]))).toEqual([
      `far:${STANDBY_ZONE}`, 'near:z1+z2', `down:${STANDBY_ZONE}`,
    ]);
  });

  it('fails over: when the nearest cluster turns unhealthy its endpoints leave the zone hints', () => {
    const failed: RankingContext = { ...ctx, cluster: (id) => (id === 'near' ? { latencyMs: 2, healthy: false } : views[id]) };
    expect(hintsByCluster(computeZoneHints(failed, DEFAULT_POLICY, ['z1'], [ep('far'), ep('near')]))).toEqual([
      'far:z1', `near:${STANDBY_ZONE}`,
    ]);
  });

  it('sets no hints without zones, for round-robin, or when no endpoint is healthy', () => {
    expect(computeZoneHints(ctx, DEFAULT_POLICY, [], [ep('near')])).toBeNull();
    expect(computeZoneHints(ctx, { policy: 'round-robin', weights: new Map() }, ['z1'], [ep('near')])).toBeNull();
    expect(computeZoneHints(ctx, DEFAULT_POLICY, ['z1'], [ep('down')])).toBeNull();
    expect(computeZoneHints(ctx, DEFAULT_POLICY, ['z1'], [])).toBeNull();
  });

  it('local-only hints only the local cluster', () => {
    expect(hintsByCluster(computeZoneHints(ctx, { policy: 'local-only', weights: new Map() }, ['z1'], [ep('near'), ep('home', 'z2')]))).toEqual([
      `near:${STANDBY_ZONE}`, 'home@z2:z1',
    ]);
  });
});
