// Nearest-healthy-instance ranking: pure, no I/O, no clock. Given what this cluster knows
// about every cluster (zone, region, smoothed RTT, health) and a service's policy, it
// orders a service's endpoints for a client in one zone of the local cluster:
//
//   1. the local cluster's endpoints in the client's zone
//   2. the rest of the local cluster
//   3. other clusters by measured RTT (in bands of latencyBandMs, so noise does not
//      reorder them; unmeasured last)
//   4. ties by same zone, then same region as the client; then by weight, then cluster ID.
//
// Endpoints of unhealthy clusters are left out. `tier` groups endpoints that are equally
// near: hints and DNS treat a tier as one set. `round-robin` puts every healthy endpoint
// in one tier; `local-only` keeps only the local cluster's.
import { weightOf, type ServicePolicy } from './policy.ts';

export interface ClusterView {
  readonly zone?: string | undefined;
  readonly region?: string | undefined;
  /** Smoothed RTT from the local cluster in ms; undefined = not measured (yet). */
  readonly latencyMs?: number | undefined;
  /** Lease live and probes not failing. */
  readonly healthy: boolean;
}

export interface RankingContext {
  readonly localCluster: string;
  readonly localZone?: string | undefined;
  readonly localRegion?: string | undefined;
  /** What is known about a cluster; unknown clusters count as healthy and unmeasured. */
  readonly cluster: (id: string) => ClusterView | undefined;
  /** RTTs in the same band are ties. */
  readonly latencyBandMs: number;
}

export interface RankableEndpoint {
  readonly cluster: string;
  readonly zone?: string | undefined;
}

export interface RankedEndpoint<E extends RankableEndpoint> {
  readonly endpoint: E;
  /** 0 is nearest; equal tiers are equally near. */
  readonly tier: number;
  readonly weight: number;
}

const UNKNOWN: ClusterView = { healthy: true };

/** The sort key of one endpoint; all but the last element decide the tier. */
function keyOf(ctx: RankingContext, policy: ServicePolicy, clientZone: string | undefined, e: RankableEndpoint): (number | string)[] {
  if (policy.policy === 'round-robin') return [0, -weightOf(policy, e.cluster), e.cluster];
  if (e.cluster === ctx.localCluster) return [clientZone !== undefined && e.zone === clientZone ? 0 : 1, 0, 0, 0, 0, ''];
  const view = ctx.cluster(e.cluster) ?? UNKNOWN;
  const band = view.latencyMs === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(view.latencyMs / ctx.latencyBandMs);
  const sameZone = clientZone !== undefined && view.zone === clientZone ? 0 : 1;
  const sameRegion = ctx.localRegion !== undefined && view.region === ctx.localRegion ? 0 : 1;
  return [2, band, sameZone, sameRegion, -weightOf(policy, e.cluster), e.cluster];
}

/** Tier boundaries ignore weight and cluster ID: equally near clusters share a tier. */
const tierPart = (key: (number | string)[], policy: ServicePolicy) => JSON.stringify(key.slice(0, policy.policy === 'round-robin' ? 1 : 4));

function compareKeys(a: (number | string)[], b: (number | string)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function isHealthy(ctx: RankingContext, cluster: string): boolean {
  return cluster === ctx.localCluster || (ctx.cluster(cluster) ?? UNKNOWN).healthy;
}

/**
 * Orders (and filters) endpoints for a client in `clientZone` (undefined: zone unknown, so
 * no local endpoint counts as same-zone). Stable: equal keys keep their input order.
 */
export function rankEndpoints<E extends RankableEndpoint>(
  ctx: RankingContext, policy: ServicePolicy, clientZone: string | undefined, endpoints: readonly E[],
): RankedEndpoint<E>[] {
  const kept = endpoints.filter((e) => isHealthy(ctx, e.cluster) && (policy.policy !== 'local-only' || e.cluster === ctx.localCluster));
  const keyed = kept.map((endpoint, i) => ({ endpoint, key: keyOf(ctx, policy, clientZone, endpoint), i }));
  keyed.sort((a, b) => compareKeys(a.key, b.key) || a.i - b.i);
  let tier = -1;
  let last: string | undefined;
  return keyed.map(({ endpoint, key }) => {
    const t = tierPart(key, policy);
    if (t !== last) {
      tier++;
      last = t;
    }
    return { endpoint, tier, weight: weightOf(policy, endpoint.cluster) };
  });
}

/** Clusters in ranked order (first appearance), for the ServiceImport's ranking annotation. */
export function rankClusters(ctx: RankingContext, policy: ServicePolicy, clusters: readonly string[]): string[] {
  const ranked = rankEndpoints(ctx, policy, ctx.localZone, clusters.map((cluster) => ({ cluster })));
  return [...new Set(ranked.map((r) => r.endpoint.cluster))];
}
