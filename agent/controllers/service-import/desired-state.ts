// Pure desired-state computation for one imported service: merged service + exports +
// cluster availability → the ServiceImport, the derived ClusterSetIP Service and the
// EndpointSlices this cluster should hold. No I/O, no clock: the reconciler compares
// these against the API server and the unit tests pin them down.
import type { V1EndpointSlice, V1OwnerReference, V1Service } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import type { ExportRecord, ExportedEndpoint, IPFamily, MergedService, ServicePort } from '../../../broker/api/catalog.ts';
import {
  LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, SERVICE_IMPORT, apiVersionOf,
  type ServiceImport, type ServiceImportStatus,
} from '../../../crds/types.ts';
import { sourceClusters, type ExporterInputs } from '../../catalog/source-clusters.ts';
import type { DesiredCondition } from '../../kube/conditions.ts';
import { ENDPOINTSLICE_MANAGER, LABEL_ENDPOINTSLICE_MANAGED_BY } from '../../kube/resources.ts';
import {
  LABEL_KUBE_SERVICE_NAME, LABEL_MANAGED_BY, MANAGED_BY_PLEXUS,
  derivedServiceName, endpointSliceName, type AddressFamily,
} from './import-names.ts';
import {
  ANNOTATION_RANKING, endpointHints, importPolicy, keepsCluster, rankingAnnotation, type ImportTopology,
} from '../../topology/import-ranking.ts';
import type { ResolvedSource } from '../../network/import-network.ts';

/** Kubernetes' own limit per EndpointSlice controller default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface ImportInputs extends ExporterInputs {
  /** Nearest-instance ranking (agent/topology); without it: no hints, no ranking annotation. */
  readonly topology?: ImportTopology | undefined;
  /**
   * Per source cluster, how its endpoints are reached (agent/network/import-network.ts);
   * absent (or a cluster missing): direct, as on one shared network. `isRoutable` must
   * agree (excluded clusters are not routable).
   */
  readonly sources?: ReadonlyMap<string, ResolvedSource> | undefined;
}

/** The ServiceImport's identity, for ownerReferences on everything derived from it. */
export interface ImportOwner {
  readonly name: string;
  readonly uid: string;
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

/**
 * The ServiceImport's traffic distribution, which the derived Service carries too: the
 * exporters' (oldest export's) value, else PreferClose when this agent ranks endpoints
 * nearest first (topology known), so kube-proxy follows the zone hints on the slices.
 */
export function effectiveTrafficDistribution(service: MergedService, topologyKnown: boolean): string | undefined {
  return service.trafficDistribution ?? (topologyKnown ? 'PreferClose' : undefined);
}

/** Addresses of the import in this cluster: `ips[i]` is of family `ipFamilies[i]`. */
export interface ImportAddressing {
  readonly ips: readonly string[];
  readonly ipFamilies: readonly IPFamily[];
  /**
   * The exporters use only families this cluster cannot serve (ClusterSetIP: none of them
   * got a ClusterIP here; Headless: none of them is among the cluster's served families).
   */
  readonly unsupported: boolean;
}

/** The exporters' families (the merged service's), else those of the exported endpoints (older agents name none). */
export function exporterFamilies(inputs: ImportInputs): IPFamily[] {
  if (inputs.service.ipFamilies.length > 0) return [...inputs.service.ipFamilies];
  const seen = new Set<IPFamily>();
  for (const e of inputs.exports) for (const ep of e.endpoints) for (const a of ep.addresses) seen.add(familyOf(a));
  return (['IPv4', 'IPv6'] as const).filter((f) => seen.has(f));
}

/**
 * ClusterSetIP: the derived Service's ClusterIPs (PreferDualStack: every family this
 * cluster serves) restricted to the exporters' families, in the Service's order. Headless:
 * no IPs, the exporters' families restricted to `served` (this cluster's families,
 * agent/controllers/service-import/served-families.ts; when unknown, all of them).
 */
export function importAddressing(
  inputs: ImportInputs,
  derived: { spec?: { clusterIPs?: string[]; clusterIP?: string; ipFamilies?: string[] } } | undefined,
  served?: readonly IPFamily[],
): ImportAddressing {
  const wanted = inputs.service.ipFamilies;
  if (inputs.service.type !== 'ClusterSetIP') {
    const families = exporterFamilies(inputs);
    if (!served) return { ips: [], ipFamilies: families, unsupported: false };
    const usable = families.filter((f) => served.includes(f));
    return { ips: [], ipFamilies: usable, unsupported: families.length > 0 && usable.length === 0 };
  }
  const clusterIps = (derived?.spec?.clusterIPs ?? (derived?.spec?.clusterIP ? [derived.spec.clusterIP] : []))
    .filter((ip) => ip && ip !== 'None').slice(0, 2);
  const ips: string[] = [];
  const ipFamilies: IPFamily[] = [];
  for (const ip of clusterIps) {
    const family = familyOf(ip);
    if (wanted.length > 0 && !wanted.includes(family)) continue;
    ips.push(ip);
    ipFamilies.push(family);
  }
  return { ips, ipFamilies, unsupported: clusterIps.length > 0 && ips.length === 0 };
}

export const NO_ADDRESSING: ImportAddressing = { ips: [], ipFamilies: [], unsupported: false };

/** Keys Plexus sets itself on the ServiceImport; an exported label or annotation cannot replace them. */
function withoutKeys(m: Record<string, string>, reserved: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !(reserved && k in reserved)));
}

/**
 * The ServiceImport to apply: the merged service's spec, this cluster's addressing, and
 * the exporters' `exportedLabels`/`exportedAnnotations` (Plexus's own keys win).
 */
export function desiredServiceImport(
  service: MergedService,
  o: { addressing?: ImportAddressing; annotations?: Record<string, string> | undefined; trafficDistribution?: string | undefined } = {},
): ServiceImport & { metadata: { name: string; namespace: string } } {
  const addressing = o.addressing ?? NO_ADDRESSING;
  const spec: ServiceImport['spec'] = {
    type: service.type,
    ports: service.ports.map((p) => ({ ...p })),
    sessionAffinity: service.sessionAffinity,
  };
  if (service.sessionAffinityConfig) spec.sessionAffinityConfig = structuredClone(service.sessionAffinityConfig);
  if (service.type === 'ClusterSetIP' && addressing.ips.length > 0) spec.ips = addressing.ips.slice(0, 2);
  if (addressing.ipFamilies.length > 0) spec.ipFamilies = addressing.ipFamilies.slice(0, 2);
  if (service.internalTrafficPolicy) spec.internalTrafficPolicy = service.internalTrafficPolicy;
  if (o.trafficDistribution) spec.trafficDistribution = o.trafficDistribution;
  const own = plexusLabels(service.name);
  const labels = { ...withoutKeys(service.exportedLabels ?? {}, own), ...own };
  const annotations = { ...withoutKeys(service.exportedAnnotations ?? {}, o.annotations), ...o.annotations };
  return {
    apiVersion: apiVersionOf(SERVICE_IMPORT) as ServiceImport['apiVersion'],
    kind: 'ServiceImport',
    metadata: { name: service.name, namespace: service.namespace, labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec,
  };
}

/** The import's `Ready` condition (mcs-api v1beta1 reasons Ready, Pending, IPFamilyNotSupported). */
export function readyCondition(inputs: ImportInputs, addressing: ImportAddressing): DesiredCondition {
  const { service } = inputs;
  if (addressing.unsupported) {
    return {
      type: 'Ready', status: 'False', reason: 'IPFamilyNotSupported',
      message: `the exporters use only ${exporterFamilies(inputs).join(' and ')}, which this cluster does not serve`,
    };
  }
  if (service.type === 'ClusterSetIP' && addressing.ips.length === 0) {
    return { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting for the clusterset IP (the derived Service\'s ClusterIP)' };
  }
  if (sourceClusters(inputs).length === 0) {
    const unreachable = [...(inputs.sources ?? [])].flatMap(([c, s]) => (s.kind === 'excluded' ? [`${c} (${s.reason})`] : []));
    const message = unreachable.length > 0
      ? `no exporting cluster is reachable from this cluster's network: ${unreachable.join(', ')}`
      : 'no exporting cluster is available';
    return { type: 'Ready', status: 'False', reason: 'Pending', message };
  }
  return { type: 'Ready', status: 'True', reason: 'Ready', message: 'the service is imported from the exporting clusters' };
}

export function desiredImportStatus(inputs: ImportInputs): ServiceImportStatus {
  return { clusters: sourceClusters(inputs).map((cluster) => ({ cluster })) };
}

function ownerReference(owner: ImportOwner): V1OwnerReference {
  return { apiVersion: apiVersionOf(SERVICE_IMPORT), kind: SERVICE_IMPORT.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: false };
}

/**
 * The selector-less Service that holds the ClusterSetIP; null for Headless imports. Its
 * trafficDistribution is the ServiceImport's (effectiveTrafficDistribution): with
 * PreferClose, kube-proxy follows the slices' zone hints. internalTrafficPolicy stays the
 * default Cluster: imported endpoints are on no node of this cluster, so Local would drop
 * all traffic; the ServiceImport reports the exporters' value.
 */
export function desiredDerivedService(service: MergedService, owner: ImportOwner, o: { trafficDistribution?: string | undefined } = {}): V1Service | null {
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
  if (o.trafficDistribution) spec.trafficDistribution = o.trafficDistribution;
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

function samePort(a: ServicePort, b: ServicePort): boolean {
  return a.name === b.name && a.protocol === b.protocol && a.port === b.port && a.appProtocol === b.appProtocol;
}

/**
 * The target ports of one source cluster that serve a port of the import: those whose
 * Service port (same name) is exactly the merged one. A port that lost a PortConflict
 * (e.g. "tcp" 4242 against the oldest export's "tcp" 42) keeps that cluster's endpoints
 * out of the import's port, so traffic to it reaches only the clusters that expose it.
 */
function acceptedEndpointPorts(service: MergedService, record: ExportRecord): ExportRecord['endpointPorts'] {
  return record.endpointPorts
    .filter((ep) => {
      const own = record.ports.find((p) => p.name === ep.name);
      const merged = service.ports.find((p) => p.name === ep.name);
      return own !== undefined && merged !== undefined && samePort(own, merged);
    })
    .map((p) => ({ ...p }));
}

type SliceEndpoint = NonNullable<V1EndpointSlice['endpoints']>[number];

/**
 * A source cluster reached through the local gateway: one endpoint per local gateway
 * address, standing for all of that cluster's endpoints (their zone hints merged, so
 * ranking treats the tunnel as that cluster: its RTT, its health), and each TCP port
 * rewritten to the listen port allocated for it. kube-proxy DNATs to the slice's port, so
 * the Service port stays as the exporters have it.
 */
function gatewaySlicePlan(
  record: ExportRecord, ports: ExportRecord['endpointPorts'], via: Extract<ResolvedSource, { kind: 'gateway' }>, hints: Map<ExportedEndpoint, string[]> | null,
): { endpoints: Map<AddressFamily, SliceEndpoint[]>; ports: ExportRecord['endpointPorts'] } {
  const zones = new Set<string>();
  for (const ep of record.endpoints) for (const z of hints?.get(ep) ?? []) zones.add(z);
  const endpoints = new Map<AddressFamily, SliceEndpoint[]>([['IPv4', []], ['IPv6', []]]);
  if (record.endpoints.length > 0) {
    for (const address of via.addresses) {
      endpoints.get(familyOf(address))!.push({
        addresses: [address],
        conditions: { ready: true, serving: true, terminating: false },
        ...(zones.size > 0 ? { hints: { forZones: [...zones].sort().map((name) => ({ name })) } } : {}),
      });
    }
  }
  const tunnelled = ports
    .filter((p) => p.protocol === 'TCP' && via.ports.has(p.name ?? ''))
    .map((p) => ({ ...p, port: via.ports.get(p.name ?? '')! }));
  return { endpoints, ports: tunnelled };
}

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

/**
 * Every slice this cluster should hold for the import, in a stable order, split past 100
 * endpoints. `served`, for a Headless import, keeps only the slices of the families this
 * cluster serves (served-families.ts; unknown: all): their addresses go straight to clients
 * (DNS answers, other DNS servers reading the slices), and an address of a family the
 * pods cannot reach only breaks them. ClusterSetIP slices keep every family: kube-proxy
 * programs only the derived Service's families and ignores the others.
 */
export function desiredEndpointSlices(inputs: ImportInputs, owner: ImportOwner, o: { served?: readonly IPFamily[] | undefined } = {}): V1EndpointSlice[] {
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
    const via = inputs.sources?.get(record.cluster);
    if (via?.kind === 'excluded') continue;
    let ports = acceptedEndpointPorts(service, record);
    let byFamily = endpointsByFamily(record, hints);
    if (via?.kind === 'gateway') ({ endpoints: byFamily, ports } = gatewaySlicePlan(record, ports, via, hints));
    for (const [family, endpoints] of byFamily) {
      if (service.type !== 'ClusterSetIP' && o.served && !o.served.includes(family)) continue;
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
