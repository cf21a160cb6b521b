// The import side of the network plan (pure): for one imported service and each of its
// source clusters, whether the endpoints are imported as they are (same network), replaced
// by the local gateway (another network: one tunnel per TCP port), or left out (no usable
// gateway, a headless service across networks, or no TCP port to tunnel).
import type { ExportRecord, MergedService, ServicePort } from '../../broker/api/catalog.ts';
import type { ClusterRoute } from './cluster-route.ts';
import { tunnelKey } from './tunnel-table.ts';

/** One remote service port to reach through a remote gateway. */
export interface TunnelRequest {
  readonly key: string;
  readonly cluster: string;
  readonly gateway: string;
  readonly namespace: string;
  readonly name: string;
  /** The exported Service's port (what the remote gateway dials). */
  readonly port: number;
  readonly protocol: 'TCP';
  /** The port's name, which the imported slice's port carries. */
  readonly portName: string | undefined;
}

export type ExclusionReason =
  | 'NoGateway' | 'InvalidAdvertisement' | 'NoLocalGateway'
  /** The remote cluster (and so its gateway) is unhealthy: lease expired or probes failing. */
  | 'GatewayUnhealthy'
  /** A headless name must reach one remote pod; a gateway has one address for many pods. */
  | 'HeadlessAcrossNetworks'
  /** Only UDP/SCTP ports: gateways tunnel TCP only. */
  | 'ProtocolNotTunneled'
  /** The tunnel port range is full. */
  | 'TunnelPortsExhausted';

export type SourcePlan =
  | { readonly kind: 'direct' }
  /** `healthy` false: keep the tunnels (stable ports across a flap), leave the endpoints out. */
  | { readonly kind: 'gateway'; readonly gateway: string; readonly healthy: boolean; readonly tunnels: readonly TunnelRequest[] }
  | { readonly kind: 'excluded'; readonly reason: ExclusionReason };

function samePort(a: ServicePort, b: ServicePort): boolean {
  return a.name === b.name && a.protocol === b.protocol && a.port === b.port && a.appProtocol === b.appProtocol;
}

/** The merged ports a source cluster serves (its own Service port is exactly the merged one, as desired-state keeps them). */
export function servedServicePorts(service: MergedService, record: ExportRecord): ServicePort[] {
  return service.ports.filter((merged) => {
    const own = record.ports.find((p) => p.name === merged.name);
    return own !== undefined && samePort(own, merged) && record.endpointPorts.some((ep) => ep.name === merged.name);
  });
}

export function planSource(service: MergedService, record: ExportRecord, route: ClusterRoute): SourcePlan {
  if (route.kind === 'direct') return { kind: 'direct' };
  if (route.kind === 'unreachable') return { kind: 'excluded', reason: route.reason };
  if (service.type !== 'ClusterSetIP') return { kind: 'excluded', reason: 'HeadlessAcrossNetworks' };
  const tunnels = servedServicePorts(service, record)
    .filter((p) => p.protocol === 'TCP')
    .map((p): TunnelRequest => {
      const t = { cluster: record.cluster, gateway: route.gateway, namespace: service.namespace, name: service.name, port: p.port, protocol: 'TCP' as const };
      return { ...t, key: tunnelKey(t), portName: p.name };
    });
  if (tunnels.length === 0) return { kind: 'excluded', reason: 'ProtocolNotTunneled' };
  return { kind: 'gateway', gateway: route.gateway, healthy: route.healthy, tunnels };
}
