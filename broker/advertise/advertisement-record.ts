// Pure rules for stored advertisements: the canonical form (fixed key order, latencies
// sorted by cluster) and when two advertisements say the same thing. Agents re-publish
// periodically; a write that changes nothing but the timestamp must cost no event.
import type { ClusterAdvertisement } from '../api/advertisement.ts';
import type { clusterAdvertisementInputSchema } from '../api/advertisement.ts';
import type { z } from 'zod';

/** A validated PUT body (defaults applied). */
export type AdvertisementInput = z.infer<typeof clusterAdvertisementInputSchema>;

/** The body without updatedAt and revision, with a fixed key order. */
export function advertisementContent(a: AdvertisementInput): AdvertisementInput {
  const latencies: Record<string, number> = {};
  for (const k of Object.keys(a.latencies).sort()) latencies[k] = a.latencies[k]!;
  return {
    cluster: a.cluster,
    ...(a.zone !== undefined ? { zone: a.zone } : {}),
    ...(a.region !== undefined ? { region: a.region } : {}),
    ...(a.probeUrl !== undefined ? { probeUrl: a.probeUrl } : {}),
    ...(a.proxyUrl !== undefined ? { proxyUrl: a.proxyUrl } : {}),
    ...(a.network !== undefined ? { network: a.network } : {}),
    ...(a.gateway !== undefined ? { gateway: a.gateway } : {}),
    latencies,
  };
}

export function sameAdvertisement(a: AdvertisementInput | undefined, b: AdvertisementInput): boolean {
  return a !== undefined && JSON.stringify(advertisementContent(a)) === JSON.stringify(advertisementContent(b));
}

export function advertisementRecord(input: AdvertisementInput, updatedAt: Date, revision: number): ClusterAdvertisement {
  return { ...advertisementContent(input), updatedAt: updatedAt.toISOString(), revision };
}
