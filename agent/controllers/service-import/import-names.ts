// Deterministic names and the labels that mark objects as Plexus-owned. Names depend only
// on namespace/name (and source cluster, address family, index for slices), so a restarted
// agent finds and updates the same objects instead of creating duplicates.
import { createHash } from 'node:crypto';

export const FIELD_MANAGER = 'plexus';

/** On every object the import controller writes; prune only ever looks at objects carrying it. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_PLEXUS = 'plexus';
/** Ties slices to a Service for kube-proxy (ClusterSetIP imports: the derived Service). */
export const LABEL_KUBE_SERVICE_NAME = 'kubernetes.io/service-name';

export type AddressFamily = 'IPv4' | 'IPv6';

function hash8(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 8);
}

/** `plx-<name, up to 50 chars>-<8 hex>`: an RFC-1035 label of at most 63 characters. */
export function derivedServiceName(namespace: string, name: string): string {
  return `plx-${name.slice(0, 50)}-${hash8(namespace, name)}`;
}

/** `plx-<name≤40>-<cluster≤40>-<8 hex>-<ipv4|ipv6>-<index>`: a DNS subdomain well under 253 characters. */
export function endpointSliceName(namespace: string, name: string, cluster: string, family: AddressFamily, index: number): string {
  return `plx-${name.slice(0, 40)}-${cluster.slice(0, 40)}-${hash8(namespace, name, cluster)}-${family.toLowerCase()}-${index}`;
}
