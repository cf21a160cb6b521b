// How this cluster reaches another cluster's pods (pure): on the same network, pod to pod
// (today's behaviour); on another network, through that cluster's east-west gateway when
// it advertises one, it is healthy, and this cluster runs a gateway of its own; otherwise
// not at all. Advertisements come from the broker, which validated them; they are
// validated again here, because what one member writes must not steer another's traffic.
import type { ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import { DEFAULT_NETWORK, gatewayAddressSchema } from '../../broker/api/advertisement.ts';
import { dnsLabelSchema } from '../../broker/api/names.ts';

export type UnreachableReason =
  /** Another network, and it advertises no gateway (or withdrew it). */
  | 'NoGateway'
  /** Its advertised network or gateway address does not validate. */
  | 'InvalidAdvertisement'
  /** Another network, and this cluster runs no gateway to tunnel through. */
  | 'NoLocalGateway';

export type ClusterRoute =
  | { readonly kind: 'direct' }
  /** `healthy` false: the cluster's lease or probes fail; its tunnels stay allocated, its endpoints leave. */
  | { readonly kind: 'gateway'; readonly network: string; readonly gateway: string; readonly healthy: boolean }
  | { readonly kind: 'unreachable'; readonly network: string; readonly reason: UnreachableReason };

export interface NetworkContext {
  readonly localCluster: string;
  readonly localNetwork: string;
  /** This cluster runs a gateway the imported slices can point at. */
  readonly hasLocalGateway: boolean;
  readonly advertisement: (cluster: string) => Pick<ClusterAdvertisement, 'network' | 'gateway'> | undefined;
  /** Lease live and probes not failing (the same health that ranks and fails over endpoints). */
  readonly healthy: (cluster: string) => boolean;
}

/** A cluster's network as advertised; absent = the shared default; invalid = undefined. */
export function advertisedNetwork(ad: Pick<ClusterAdvertisement, 'network'> | undefined): string | undefined {
  if (ad?.network === undefined) return DEFAULT_NETWORK;
  return dnsLabelSchema.safeParse(ad.network).success ? ad.network : undefined;
}

export function clusterRoute(ctx: NetworkContext, cluster: string): ClusterRoute {
  if (cluster === ctx.localCluster) return { kind: 'direct' };
  const ad = ctx.advertisement(cluster);
  const network = advertisedNetwork(ad);
  if (network === undefined) return { kind: 'unreachable', network: String(ad?.network), reason: 'InvalidAdvertisement' };
  if (network === ctx.localNetwork) return { kind: 'direct' };
  if (ad?.gateway === undefined) return { kind: 'unreachable', network, reason: 'NoGateway' };
  if (!gatewayAddressSchema.safeParse(ad.gateway).success) return { kind: 'unreachable', network, reason: 'InvalidAdvertisement' };
  if (!ctx.hasLocalGateway) return { kind: 'unreachable', network, reason: 'NoLocalGateway' };
  return { kind: 'gateway', network, gateway: ad.gateway, healthy: ctx.healthy(cluster) };
}

/** How many distinct networks the advertisements name (absent = default); >1 means gateways matter. */
export function networkCount(localNetwork: string, ads: readonly Pick<ClusterAdvertisement, 'network'>[]): number {
  return new Set([localNetwork, ...ads.map((a) => advertisedNetwork(a) ?? '?')]).size;
}
