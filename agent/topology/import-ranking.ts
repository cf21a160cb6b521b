// The ranking as the import controller applies it to one imported service (pure):
// zone hints for its EndpointSlices (ClusterSetIP), the `plexus.io/ranking` annotation on
// its ServiceImport (for data planes that read neither hints nor DNS), and which source
// clusters a `local-only` policy keeps.
import type { ExportRecord, ExportedEndpoint, MergedService } from '../../broker/api/catalog.ts';
import { servicePolicyOf, type ServicePolicy } from './policy.ts';
import { isHealthy, rankClusters, type RankingContext } from './ranking.ts';
import { computeZoneHints } from './zone-hints.ts';

export const ANNOTATION_RANKING = 'plexus.io/ranking';

/** What the import controller asks of topology (Topology provides it). */
export interface ImportTopology {
  context(): RankingContext;
}

/**
 * The policy of an imported service: the oldest export's annotations decide (as for type).
 * The one rule for both users, so slices and DNS order never disagree: `exportOf` looks up
 * a cluster's export (the import controller's list, Topology's catalog).
 */
export function importPolicy(service: MergedService | undefined, exportOf: (cluster: string) => ExportRecord | undefined): ServicePolicy {
  const oldest = service?.members[0]?.cluster;
  return servicePolicyOf(oldest === undefined ? undefined : exportOf(oldest)?.annotations);
}

/** local-only imports only this cluster's own endpoints. */
export function keepsCluster(ctx: RankingContext, policy: ServicePolicy, cluster: string): boolean {
  return policy.policy !== 'local-only' || cluster === ctx.localCluster;
}

/** The zones of the local cluster this service's traffic comes from: its own zone and its endpoints' zones. */
function localZones(ctx: RankingContext, records: readonly ExportRecord[]): string[] {
  const zones = new Set<string>();
  if (ctx.localZone) zones.add(ctx.localZone);
  for (const r of records) if (r.cluster === ctx.localCluster) for (const e of r.endpoints) if (e.zone) zones.add(e.zone);
  return [...zones].sort();
}

/** Zones to hint per exported endpoint, or null when the slices carry no hints. */
export function endpointHints(ctx: RankingContext, policy: ServicePolicy, records: readonly ExportRecord[]): Map<ExportedEndpoint, string[]> | null {
  const items = records.flatMap((r) => r.endpoints.map((endpoint) => ({ cluster: r.cluster, zone: endpoint.zone, endpoint })));
  const hints = computeZoneHints(ctx, policy, localZones(ctx, records), items);
  return hints && new Map([...hints].map(([item, zones]) => [item.endpoint, zones]));
}

/** JSON for the ServiceImport: the policy, the clusters nearest first, and those left out as unhealthy. */
export function rankingAnnotation(ctx: RankingContext, policy: ServicePolicy, clusters: readonly string[]): string {
  const ranked = rankClusters(ctx, policy, clusters);
  const excluded = clusters.filter((c) => !isHealthy(ctx, c)).sort();
  return JSON.stringify({ policy: policy.policy, ...(ctx.localZone ? { zone: ctx.localZone } : {}), clusters: ranked, excluded });
}
