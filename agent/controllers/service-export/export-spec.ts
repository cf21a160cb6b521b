// ServiceExport + Service + EndpointSlices → the ExportSpec of the broker wire contract.
// Pure and deterministic (sorted), so an unchanged state builds byte-identical specs and
// the reconciler can skip the broker write. Validated with the contract's own schema:
// input the broker would refuse is caught here, with the offending field named.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import { exportSpecSchema, type EndpointPort, type ExportSpec, type ExportedEndpoint, type ServicePort } from '../../../broker/api/catalog.ts';
import type { ServiceExport } from '../../../crds/types.ts';

/** ServiceExport annotations with this prefix travel to the broker as per-service settings. */
export const EXPORTED_ANNOTATION_PREFIX = 'plexus.io/';

export interface ExportInputs {
  clusterId: string;
  serviceExport: ServiceExport;
  service: V1Service;
  /** The Service's EndpointSlices (label kubernetes.io/service-name). */
  slices: readonly V1EndpointSlice[];
}

export type BuildResult = { ok: true; spec: ExportSpec } | { ok: false; problem: string };

export function buildExportSpec(i: ExportInputs): BuildResult {
  const spec = i.service.spec ?? {};
  const affinity = spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None';
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  const candidate = {
    cluster: i.clusterId,
    namespace: i.serviceExport.metadata?.namespace,
    name: i.serviceExport.metadata?.name,
    createdAt: timestamp(i.serviceExport.metadata?.creationTimestamp),
    // NodePort and LoadBalancer Services import as ClusterSetIP (KEP-1645).
    type: spec.clusterIP === 'None' ? 'Headless' : 'ClusterSetIP',
    ports: (spec.ports ?? []).map(servicePort),
    clusterIPs: clusterIPs(i.service),
    sessionAffinity: affinity,
    ...(affinity === 'ClientIP' && timeout !== undefined ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: timeout } } } : {}),
    endpointPorts: endpointPorts(i.slices),
    endpoints: readyEndpoints(i.slices),
    annotations: exportedAnnotations(i.serviceExport),
    exportedLabels: sortedMap(i.serviceExport.spec?.exportedLabels),
    exportedAnnotations: sortedMap(i.serviceExport.spec?.exportedAnnotations),
    ipFamilies: ipFamilies(i.service),
    ...(spec.internalTrafficPolicy ? { internalTrafficPolicy: spec.internalTrafficPolicy } : {}),
    ...(spec.trafficDistribution ? { trafficDistribution: spec.trafficDistribution } : {}),
  };
  const parsed = exportSpecSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, spec: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || 'export'}: ${issue?.message ?? 'invalid'}` };
}

function servicePort(p: NonNullable<NonNullable<V1Service['spec']>['ports']>[number]): ServicePort {
  return {
    ...(p.name ? { name: p.name } : {}),
    protocol: (p.protocol ?? 'TCP') as ServicePort['protocol'],
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    port: p.port,
  };
}

function clusterIPs(svc: V1Service): string[] {
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== 'None').slice(0, 2);
}

/** The Service's spec.ipFamilies (set by the API server), else the families of its ClusterIPs. */
function ipFamilies(svc: V1Service): string[] {
  const given = svc.spec?.ipFamilies ?? [];
  if (given.length > 0) return given.slice(0, 2);
  return clusterIPs(svc).map((ip) => (isIPv4(ip) ? 'IPv4' : 'IPv6'));
}

function sortedMap(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).sort(([a], [b]) => compare(a, b)));
}

function endpointPorts(slices: readonly V1EndpointSlice[]): EndpointPort[] {
  const byKey = new Map<string, EndpointPort>();
  for (const s of slices) {
    for (const p of s.ports ?? []) {
      // A port without a number means "all ports" and cannot be exported as a target port.
      if (typeof p.port !== 'number') continue;
      const ep: EndpointPort = {
        ...(p.name ? { name: p.name } : {}),
        protocol: (p.protocol ?? 'TCP') as EndpointPort['protocol'],
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        port: p.port,
      };
      byKey.set(`${ep.name ?? ''}/${ep.protocol}/${ep.port}`, ep);
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => compare(a, b)).map(([, p]) => p);
}

function readyEndpoints(slices: readonly V1EndpointSlice[]): ExportedEndpoint[] {
  const byAddresses = new Map<string, ExportedEndpoint>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
    for (const e of s.endpoints ?? []) {
      // Unknown readiness counts as ready (EndpointSlice API semantics).
      if (e.conditions?.ready === false || !e.addresses?.length) continue;
      const addresses = [...e.addresses].sort(compare);
      byAddresses.set(addresses.join(','), {
        addresses,
        ...(e.hostname ? { hostname: e.hostname } : {}),
        ...(e.zone ? { zone: e.zone } : {}),
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      });
    }
  }
  return [...byAddresses.entries()].sort(([a], [b]) => compare(a, b)).map(([, e]) => e);
}

function exportedAnnotations(se: ServiceExport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(se.metadata?.annotations ?? {}).sort(([a], [b]) => compare(a, b))) {
    if (k.startsWith(EXPORTED_ANNOTATION_PREFIX)) out[k] = v;
  }
  return out;
}

/** Raw JSON carries RFC 3339 strings; typed clients give Dates. Both are accepted. */
function timestamp(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
