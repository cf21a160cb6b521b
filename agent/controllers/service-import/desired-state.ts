// Pure desired-state computation for one imported service: merged service + exports +
// cluster availability → the ServiceImport, the derived ClusterSetIP Service and the
// EndpointSlices this cluster should hold. No I/O, no clock: the reconciler compares
// these against the API server and the unit tests pin them down.
import type { V1EndpointSlice, V1OwnerReference, V1Service } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import type { ExportRecord, ExportedEndpoint, MergedService } from '../../../broker/api/catalog.ts';
import {
  LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, SERVICE_IMPORT, apiVersionOf,
  type ServiceImport, type ServiceImportStatus,
} from '../../../crds/types.ts';
import {
  ENDPOINTSLICE_MANAGER, LABEL_ENDPOINTSLICE_MANAGED_BY, LABEL_KUBE_SERVICE_NAME, LABEL_MANAGED_BY, MANAGED_BY_PLEXUS,
  derivedServiceName, endpointSliceName, type AddressFamily,
} from './import-names.ts';
import {
  ANNOTATION_RANKING, endpointHints, importPolicy, keepsCluster, rankingAnnotation, type ImportTopology,
} from '../../topology/import-ranking.ts';

/** Kubernetes' own limit per EndpointSlice controller default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface ImportInputs {
  readonly service: MergedService;
  /** Exports of this namespace/name, any order. */
  readonly exports: readonly ExportRecord[];
  readonly isAvailable: (cluster: string) => boolean;
  /** Nearest-instance ranking (agent/topology); without it: no hints, no ranking annotation. */
  readonly topology?: ImportTopology | undefined;
}

/** The ServiceImport's identity, for ownerReferences on everything derived from it. */
export interface ImportOwner {
  readonly name: string;
  readonly uid: string;
}

/** Exporting clusters whose endpoints are imported: members, not excluded, available, with an export record; sorted. */
export function sourceClusters(inputs: ImportInputs): string[] {
  const exporters = new Set(inputs.exports.map((e) => e.cluster));
  return inputs.service.members
    .filter((m) => !m.excluded && exporters.has(m.cluster) && inputs.isAvailable(m.cluster))
    .map((m) => m.cluster)
    .sort();
}

export function plexusLabels(name: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY_PLEXUS, [LABEL_SERVICE_NAME]: name };
}

/** The `plexus.io/ranking` annotation of the import, when topology is known. */
export function desiredRankingAnnotations(inputs: ImportInputs): Record<string, string> | undefined {
  if (!inputs.topology) return undefined;
  const ctx = inputs.topology.context();
  const clusters = sourceClusters(inputs);
  return { [ANNOTATION_RANKING]: rankingAnnotation(ctx, importPolicy(inputs.service, (c) => inputs.exports.find((e) => e.cluster === c)), clusters) };
}

/** The ServiceImport to apply. `ips` are the derived Service's ClusterIPs (empty for Headless). */
export function desiredServiceImport(
  service: MergedService, ips: readonly string[], annotations?: Record<string, string>,
): ServiceImport & { metadata: { name: string; namespace: string } } {
  const spec: ServiceImport['spec'] = {
    type: service.type,
    ports: service.ports.map((p) => ({ ...p })),
    sessionAffinity: service.sessionAffinity,
  };
  if (service.sessionAffinityConfig) spec.sessionAffinityConfig = structuredClone(service.sessionAffinityConfig);
  if (service.type === 'ClusterSetIP' && ips.length > 0) spec.ips = ips.slice(0, 2);
  return {
    apiVersion: apiVersionOf(SERVICE_IMPORT) as ServiceImport['apiVersion'],
    kind: 'ServiceImport',
    metadata: { name: service.name, namespace: service.namespace, labels: plexusLabels(service.name), ...(annotations ? { annotations } : {}) },
    spec,
  };
}

export function desiredImportStatus(inputs: ImportInputs): ServiceImportStatus {
  return { clusters: sourceClusters(inputs).map((cluster) => ({ cluster })) };
}

function ownerReference(owner: ImportOwner): V1OwnerReference {
  return { apiVersion: apiVersionOf(SERVICE_IMPORT), kind: SERVICE_IMPORT.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: false };
}

/**
 * The selector-less Service that holds the ClusterSetIP; null for Headless imports. With
 * `preferClose` (topology known), kube-proxy follows the slices' zone hints.
 */
export function desiredDerivedService(service: MergedService, owner: ImportOwner, o: { preferClose?: boolean } = {}): V1Service | null {
  if (service.type !== 'ClusterSetIP') return null;
  const spec: NonNullable<V1Service['spec']> = {
    type: 'ClusterIP',
    ipFamilyPolicy: 'PreferDualStack',
    ports: service.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: p.protocol,
      port: p.port,
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
    sessionAffinity: service.sessionAffinity,
  };
  if (service.sessionAffinityConfig?.clientIP) spec.sessionAffinityConfig = { clientIP: { ...service.sessionAffinityConfig.clientIP } };
  if (o.preferClose) spec.trafficDistribution = 'PreferClose';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: derivedServiceName(service.namespace, service.name),
      namespace: service.namespace,
      labels: plexusLabels(service.name),
      ownerReferences: [ownerReference(owner)],
    },
    spec,
  };
}

function familyOf(address: string): AddressFamily {
  return isIPv4(address) ? 'IPv4' : 'IPv6';
}

type SliceEndpoint = NonNullable<V1EndpointSlice['endpoints']>[number];

/** One export's ready endpoints, per address family; an endpoint with both families appears in both. */
function endpointsByFamily(record: ExportRecord, hints: Map<ExportedEndpoint, string[]> | null): Map<AddressFamily, SliceEndpoint[]> {
  const out = new Map<AddressFamily, SliceEndpoint[]>([['IPv4', []], ['IPv6', []]]);
  for (const ep of record.endpoints) {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const addresses = ep.addresses.filter((a) => familyOf(a) === family);
      if (addresses.length === 0) continue;
      out.get(family)!.push({
        addresses,
        conditions: { ready: true, serving: true, terminating: false },
        ...(ep.hostname ? { hostname: ep.hostname } : {}),
        ...(ep.zone ? { zone: ep.zone } : {}),
        ...(hints?.has(ep) ? { hints: { forZones: hints.get(ep)!.map((name) => ({ name })) } } : {}),
      });
    }
  }
  return out;
}

/** Every slice this cluster should hold for the import, in a stable order, split past 100 endpoints. */
export function desiredEndpointSlices(inputs: ImportInputs, owner: ImportOwner): V1EndpointSlice[] {
  const { service } = inputs;
  const sources = new Set(sourceClusters(inputs));
  const slices: V1EndpointSlice[] = [];
  const ctx = inputs.topology?.context();
  const policy = importPolicy(service, (c) => inputs.exports.find((e) => e.cluster === c));
  const records = [...inputs.exports]
    .filter((e) => sources.has(e.cluster) && (!ctx || keepsCluster(ctx, policy, e.cluster)))
    .sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  // Zone hints steer ClusterSetIP traffic (kube-proxy); headless answers are ordered by DNS.
  const hints = ctx && service.type === 'ClusterSetIP' ? endpointHints(ctx, policy, records) : null;
  for (const record of records) {
    const ports = record.endpointPorts.map((p) => ({ ...p }));
    for (const [family, endpoints] of endpointsByFamily(record, hints)) {
      for (let i = 0; i * MAX_ENDPOINTS_PER_SLICE < endpoints.length; i++) {
        const labels: Record<string, string> = {
          ...plexusLabels(service.name),
          [LABEL_SOURCE_CLUSTER]: record.cluster,
          [LABEL_ENDPOINTSLICE_MANAGED_BY]: ENDPOINTSLICE_MANAGER,
        };
        if (service.type === 'ClusterSetIP') labels[LABEL_KUBE_SERVICE_NAME] = derivedServiceName(service.namespace, service.name);
        slices.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: endpointSliceName(service.namespace, service.name, record.cluster, family, i),
            namespace: service.namespace,
            labels,
            ownerReferences: [ownerReference(owner)],
          },
          addressType: family,
          endpoints: endpoints.slice(i * MAX_ENDPOINTS_PER_SLICE, (i + 1) * MAX_ENDPOINTS_PER_SLICE),
          ports,
        });
      }
    }
  }
  return slices;
}
