// Wire contract of cluster advertisements: what each agent tells the clusterset about
// itself beyond its exports — where it sits (zone, region), where its probe endpoint and
// access proxy listen, and the round-trip times it measured to the other clusters.
//
//   PUT /v1/advertisement      ClusterAdvertisementInput -> ClusterAdvertisement   (cluster identity; own cluster only)
//   GET /v1/advertisements                               -> AdvertisementList      (any cluster, admin or user identity)
// Changes also flow on the watch stream as `advertisement` events (see catalog.ts).
import { z } from 'zod';
import { httpsUrlSchema as httpsUrl } from './addresses.ts';
import { isNonEmptyLabelValue } from './names.ts';
import { clusterIdSchema } from './types.ts';

const labelValue = z.string().refine(isNonEmptyLabelValue, 'must be a Kubernetes label value');

export const clusterAdvertisementInputSchema = z.object({
  cluster: clusterIdSchema,
  zone: labelValue.optional(),
  region: labelValue.optional(),
  /** https://host:port of the agent's mTLS probe endpoint (other agents measure RTT). */
  probeUrl: httpsUrl.optional(),
  /** https://host:port of the agent's access proxy (kubectl through the shared identity). */
  proxyUrl: httpsUrl.optional(),
  /** Smoothed round-trip times to other clusters, ms; absent = not reachable / not measured. */
  latencies: z.record(clusterIdSchema, z.number().nonnegative().max(60_000)).default({}),
}).strict();
export type ClusterAdvertisementInput = z.input<typeof clusterAdvertisementInputSchema>;

export const clusterAdvertisementSchema = clusterAdvertisementInputSchema.extend({
  updatedAt: z.iso.datetime({ offset: true }),
  revision: z.number().int().nonnegative(),
});
export type ClusterAdvertisement = z.infer<typeof clusterAdvertisementSchema>;

export const advertisementListSchema = z.object({
  revision: z.number().int().nonnegative(),
  advertisements: z.array(clusterAdvertisementSchema),
});
export type AdvertisementList = z.infer<typeof advertisementListSchema>;

export const advertisementPaths = {
  advertisement: '/v1/advertisement',
  advertisements: '/v1/advertisements',
} as const;

/**
 * DNS name every cluster certificate carries besides its SPIFFE URI, so that clients
 * which verify hostnames (kubectl) can use `tls-server-name` against agent endpoints.
 */
export function clusterServerName(clusterId: string, clusterset: string): string {
  return `${clusterId}.cluster.${clusterset}`;
}
