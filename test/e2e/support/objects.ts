// Builders and readers for the Kubernetes objects e2e tests touch, through the typed
// clients of the harness (the admin identity of each cluster).
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import type { Cluster } from '../../harness/cluster.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, MCS_GROUP, MCS_VERSION } from '../../../crds/types.ts';

export interface Condition { type: string; status: string; reason: string; message?: string }
export interface ServiceImportObject {
  metadata: { name: string; namespace: string };
  spec: { type: string; ips?: string[]; ports?: { name?: string; port: number; protocol: string }[] };
  status?: { clusters?: { cluster: string }[] };
}

export async function ensureNamespace(c: Cluster, name: string): Promise<void> {
  await c.client(CoreV1Api).createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
}

export async function createService(c: Cluster, ns: string, name: string, spec: Partial<V1Service['spec']> = {}): Promise<void> {
  await c.client(CoreV1Api).createNamespacedService({ namespace: ns, body: {
    metadata: { name },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  } });
}

/** Writes (creates or replaces) the one EndpointSlice of ns/svc with these ready addresses. */
export async function setEndpoints(c: Cluster, ns: string, svc: string, ready: string[], notReady: string[] = []): Promise<void> {
  const api = c.client(DiscoveryV1Api);
  const name = `${svc}-local`;
  const body: V1EndpointSlice = {
    metadata: { name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      ...ready.map((a, i) => ({ addresses: [a], conditions: { ready: true }, hostname: `${svc}-${i}`, zone: 'zone-a' })),
      ...notReady.map((a) => ({ addresses: [a], conditions: { ready: false } })),
    ],
  };
  try {
    const current = await api.readNamespacedEndpointSlice({ namespace: ns, name });
    body.metadata!.resourceVersion = current.metadata?.resourceVersion;
    await api.replaceNamespacedEndpointSlice({ namespace: ns, name, body });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await api.createNamespacedEndpointSlice({ namespace: ns, body });
  }
}

export async function exportService(c: Cluster, ns: string, name: string): Promise<void> {
  await c.client(CustomObjectsApi).createNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', body: {
    apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name, namespace: ns },
  } });
}

export async function unexportService(c: Cluster, ns: string, name: string): Promise<void> {
  await c.client(CustomObjectsApi).deleteNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name });
}

export async function exportConditions(c: Cluster, ns: string, name: string): Promise<Condition[]> {
  const se = await c.client(CustomObjectsApi).getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceexports', name }) as { status?: { conditions?: Condition[] } };
  return se.status?.conditions ?? [];
}

export async function serviceImport(c: Cluster, ns: string, name: string): Promise<ServiceImportObject | undefined> {
  try {
    return await c.client(CustomObjectsApi).getNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceimports', name }) as ServiceImportObject;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

export async function serviceImports(c: Cluster, ns?: string): Promise<ServiceImportObject[]> {
  const api = c.client(CustomObjectsApi);
  const list = (ns
    ? await api.listNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: ns, plural: 'serviceimports' })
    : await api.listClusterCustomObject({ group: MCS_GROUP, version: MCS_VERSION, plural: 'serviceimports' })) as { items: ServiceImportObject[] };
  return list.items;
}

/** Imported slices of ns/svc (MCS labels), optionally from one source cluster. */
export async function importedSlices(c: Cluster, ns: string, svc: string, source?: string): Promise<V1EndpointSlice[]> {
  const selector = [`${LABEL_SERVICE_NAME}=${svc}`, ...(source ? [`${LABEL_SOURCE_CLUSTER}=${source}`] : [])].join(',');
  return (await c.client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: selector })).items;
}

export function addressesOf(slices: V1EndpointSlice[]): string[] {
  return slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort();
}

export const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
