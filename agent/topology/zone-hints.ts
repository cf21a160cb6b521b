// Topology hints for imported EndpointSlices (ClusterSetIP): for each zone of the local
// cluster, the endpoints of that zone's nearest tier get `hints.forZones` naming it, so
// kube-proxy (trafficDistribution: PreferClose) sends each zone's traffic to its nearest
// healthy endpoints. kube-proxy ignores hints unless every endpoint has some, so the
// endpoints no zone picked (farther, or of unhealthy clusters) get the STANDBY_ZONE hint:
// present in the slice, used by no zone. Pure.
import type { ServicePolicy } from './policy.ts';
import { rankEndpoints, type RankableEndpoint, type RankingContext } from './ranking.ts';

/** A zone name no node has: endpoints hinted only for it serve no zone while hints apply. */
export const STANDBY_ZONE = 'plexus-standby';

/**
 * Zones per endpoint (same objects as given), or null when hints must not be set: no zone
 * known, policy round-robin, or no healthy endpoint (then every endpoint stays usable).
 */
export function computeZoneHints<E extends RankableEndpoint>(
  ctx: RankingContext, policy: ServicePolicy, zones: readonly string[], endpoints: readonly E[],
): Map<E, string[]> | null {
  if (zones.length === 0 || policy.policy === 'round-robin' || endpoints.length === 0) return null;
  const forZones = new Map<E, string[]>(endpoints.map((e) => [e, []]));
  let hinted = false;
  for (const zone of [...new Set(zones)].sort()) {
    const ranked = rankEndpoints(ctx, policy, zone, endpoints);
    const best = ranked[0]?.tier;
    for (const r of ranked) {
      if (r.tier !== best) break;
      forZones.get(r.endpoint)!.push(zone);
      hinted = true;
    }
  }
  if (!hinted) return null;
  for (const [e, z] of forZones) if (z.length === 0) forZones.set(e, [STANDBY_ZONE]);
  return forZones;
}
