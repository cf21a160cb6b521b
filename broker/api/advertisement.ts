// Wire contract of cluster advertisements: what each agent tells the clusterset about
// itself beyond its exports — where it sits (zone, region), where its probe endpoint and
// access proxy listen, and the round-trip times it measured to the other clusters.
//
//   PUT /v1/advertisement      ClusterAdvertisementInput -> ClusterAdvertisement   (cluster identity; own cluster only)
//   GET /v1/advertisements                               -> AdvertisementList      (any cluster, admin or user identity)
// Changes also flow on the watch stream as `advertisement` events (see catalog.ts).
import { z } from 'zod';
import { isIP } from 'node:net';
import { httpsUrlSchema as httpsUrl, parseHostPort } from './addresses.ts';
import { dnsLabelSchema, isNonEmptyLabelValue } from './names.ts';
import { clusterIdSchema } from './types.ts';

const labelValue = z.string().refine(isNonEmptyLabelValue, 'must be a Kubernetes label value');

/** The network every cluster belongs to unless told otherwise: one shared network, pod to pod. */
export const DEFAULT_NETWORK = 'default';

/**
 * Addresses a member must not make other clusters' gateways dial: unspecified, loopback,
 * link-local (cloud metadata lives at 169.254.169.254). Lighthouse had to learn this for
 * relayed endpoint addresses (FACTS.md); a gateway address is relayed the same way.
 */
export function isSpecialRangeAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return /^(0\.|127\.|169\.254\.)/.test(host);
  if (family === 6) {
    const h = host.toLowerCase();
    return h === '::' || h === '::1' || /^fe[89ab][0-9a-f]:/.test(h) || /^::ffff:(0|127|169\.254)\./.test(h);
  }
  return /^localhost\.?$/i.test(host);
}

/** `host:port` (IPv6 in brackets) of a cluster's east-west gateway, routable from other networks; port 1-65535. */
export const gatewayAddressSchema = z.string().max(260).superRefine((s, ctx) => {
  const parsed = parseHostPort('gateway address', s);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  else if (parsed.port === 0) ctx.addIssue({ code: 'custom', message: 'gateway address port must be 1-65535' });
  else if (isSpecialRangeAddress(parsed.host)) ctx.addIssue({ code: 'custom', message: `gateway address host "${parsed.host}" is unspecified, loopback or link-local` });
});

export const clusterAdvertisementInputSchema = z.object({
  cluster: clusterIdSchema,
  zone: labelValue.optional(),
  region: labelValue.optional(),
  /** https://host:port of the agent's mTLS probe endpoint (other agents measure RTT). */
  probeUrl: httpsUrl.optional(),
  /** https://host:port of the agent's access proxy (kubectl through the shared identity). */
  proxyUrl: httpsUrl.optional(),
  /** The network this cluster's pods sit on (absent: DEFAULT_NETWORK). Same network: pod to pod; others: through gateways. */
  network: dnsLabelSchema.optional(),
  /**
   * `host:port` of this cluster's east-west gateway. Only the cluster itself can write its
   * advertisement (the broker takes the ID from its certificate), so no cluster can
   * advertise a gateway for another.
   */
  gateway: gatewayAddressSchema.optional(),
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
