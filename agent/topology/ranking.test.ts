import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type ServicePolicy } from './policy.ts';
import { rankClusters, rankEndpoints, type ClusterView, type RankingContext } from './ranking.ts';

const views: Record<string, ClusterView> = {
  near: { zone: 'z2', region: 'r1', latencyMs: 2, healthy: true },
  far: { zone: 'z9', region: 'r9', latencyMs: 40, healthy: true },
  twinZone: { zone: 'z1', region: 'r1', latencyMs: 20, healthy: true },
  twinRegion: { zone: 'z7', region: 'r1', latencyMs: 21, healthy: true },
  twinNone: { zone: 'z8', region: 'r8', latencyMs: 22, healthy: true },
  dead: { zone: 'z1', region: 'r1', latencyMs: 1, healthy: false },
  unmeasured: { zone: 'z1', region: 'r1', healthy: true },
};
const ctx = (o: Partial<RankingContext> = {}): RankingContext => ({
  localCluster: 'home', localZone: 'z1', localRegion: 'r1', cluster: (id) => views[id], latencyBandMs: 5, ...o,
});
const ep = (cluster: string, zone?: string, id = '') => ({ cluster, zone, id: `${cluster}${id}` });
const ids = (r: { endpoint: { id: string } }[]) => r.map((x) => x.endpoint.id);
const tiers = (r: { tier: number }[]) => r.map((x) => x.tier);

describe('rankEndpoints (nearest)', () => {
  it('puts the local zone first, then the rest of the local cluster, then other clusters by RTT', () => {
    const r = rankEndpoints(ctx(), DEFAULT_POLICY, 'z1', [ep('far'), ep('near'), ep('home', 'z2', '-b'), ep('home', 'z1', '-a')]);
    expect(ids(r)).toEqual(['home-a', 'home-b', 'near', 'far']);
    expect(tiers(r)).toEqual([0, 1, 2, 3]);
  });

  it('ranks per client zone: the other zone of the local cluster gets its own endpoints first', () => {
    const r = rankEndpoints(ctx(), DEFAULT_POLICY, 'z2', [ep('home', 'z1', '-a'), ep('home', 'z2', '-b')]);
    expect(ids(r)).toEqual(['home-b', 'home-a']);
  });

  it('breaks RTT ties (same band) by same zone, then same region', () => {
    const r = rankEndpoints(ctx(), DEFAULT_POLICY, 'z1', [ep('twinNone'), ep('twinRegion'), ep('twinZone')]);
    expect(ids(r)).toEqual(['twinZone', 'twinRegion', 'twinNone']);
    expect(tiers(r)).toEqual([0, 1, 2]);
  });

  it('lets equally near clusters share a tier, ordered by weight then cluster ID', () => {
    const same: Record<string, ClusterView> = { a: { latencyMs: 3, healthy: true }, b: { latencyMs: 4, healthy: true } };
    const weighted: ServicePolicy = { policy: 'nearest', weights: new Map([['b', 5]]) };
    const r = rankEndpoints(ctx({ cluster: (id) => same[id] }), weighted, 'z1', [ep('a'), ep('b')]);
    expect(ids(r)).toEqual(['b', 'a']);
    expect(tiers(r)).toEqual([0, 0]);
    expect(r.map((x) => x.weight)).toEqual([5, 1]);
  });

  it('leaves unhealthy clusters out and puts unmeasured ones after measured ones', () => {
    const r = rankEndpoints(ctx(), DEFAULT_POLICY, 'z1', [ep('unmeasured'), ep('dead'), ep('far')]);
    expect(ids(r)).toEqual(['far', 'unmeasured']);
  });

  it('treats an unknown cluster as healthy and unmeasured, and the local cluster as always healthy', () => {
    const r = rankEndpoints(ctx({ cluster: () => undefined }), DEFAULT_POLICY, undefined, [ep('stranger'), ep('home', 'z1')]);
    expect(ids(r)).toEqual(['home', 'stranger']);
  });

  it('keeps input order for equal keys (stable)', () => {
    const r = rankEndpoints(ctx(), DEFAULT_POLICY, 'z1', [ep('near', undefined, '-2'), ep('near', undefined, '-1')]);
    expect(ids(r)).toEqual(['near-2', 'near-1']);
  });
});

describe('rankEndpoints (other policies)', () => {
  it('local-only keeps only the local cluster', () => {
    const r = rankEndpoints(ctx(), { policy: 'local-only', weights: new Map() }, 'z1', [ep('near'), ep('home', 'z2')]);
    expect(ids(r)).toEqual(['home']);
  });

  it('local-only with no local endpoints answers nothing', () => {
    expect(rankEndpoints(ctx(), { policy: 'local-only', weights: new Map() }, 'z1', [ep('near')])).toEqual([]);
  });

  it('round-robin puts every healthy endpoint in one tier, heavier clusters first', () => {
    const rr: ServicePolicy = { policy: 'round-robin', weights: new Map([['far', 3]]) };
    const r = rankEndpoints(ctx(), rr, 'z1', [ep('home', 'z1'), ep('near'), ep('far'), ep('dead')]);
    expect(ids(r)).toEqual(['far', 'home', 'near']);
    expect(tiers(r)).toEqual([0, 0, 0]);
  });
});

describe('rankClusters', () => {
  it('orders clusters from the local zone\'s point of view, without unhealthy ones', () => {
    expect(rankClusters(ctx(), DEFAULT_POLICY, ['far', 'dead', 'near', 'home'])).toEqual(['home', 'near', 'far']);
  });
});
