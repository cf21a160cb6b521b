// What the import reconciler asks of the network plan for one service: per source cluster,
// direct, through the local gateway (with the listen ports allocated for it) or excluded.
// The allocation lives in GatewayTunnels; everything else is import-plan.ts (pure).
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import type { ClusterRoute } from './cluster-route.ts';
import type { GatewayTunnels } from './gateway-tunnels.ts';
import { planSource, type ExclusionReason } from './import-plan.ts';

export type ResolvedSource =
  | { readonly kind: 'direct' }
  /** Endpoints replaced by the local gateway's addresses; `ports`: listen port per port name ('' = unnamed). */
  | { readonly kind: 'gateway'; readonly addresses: readonly string[]; readonly ports: ReadonlyMap<string, number> }
  | { readonly kind: 'excluded'; readonly reason: ExclusionReason };

/** The network as the import reconciler reads it (agent/network/network-view.ts provides it). */
export interface ImportNetwork {
  route(cluster: string): ClusterRoute;
  /** Present when this cluster runs a gateway (its address is configured). */
  readonly tunnels: GatewayTunnels | undefined;
}

/** Every record's route; allocates (and releases) the import's tunnels as a side effect. */
export function resolveSources(service: MergedService, records: readonly ExportRecord[], network: ImportNetwork): Map<string, ResolvedSource> {
  const out = new Map<string, ResolvedSource>();
  const plans = records.map((r) => ({ cluster: r.cluster, plan: planSource(service, r, network.route(r.cluster)) }));
  const requests = plans.flatMap(({ plan }) => (plan.kind === 'gateway' ? plan.tunnels : []));
  const assigned = network.tunnels?.assign(`${service.namespace}/${service.name}`, requests);
  for (const { cluster, plan } of plans) {
    if (plan.kind !== 'gateway') {
      out.set(cluster, plan);
      continue;
    }
    const ports = new Map<string, number>();
    for (const t of plan.tunnels) {
      const p = assigned?.ports.get(t.key);
      if (p !== undefined) ports.set(t.portName ?? '', p);
    }
    if (ports.size === 0 || !network.tunnels) out.set(cluster, { kind: 'excluded', reason: 'TunnelPortsExhausted' });
    else if (!plan.healthy) out.set(cluster, { kind: 'excluded', reason: 'GatewayUnhealthy' });
    else out.set(cluster, { kind: 'gateway', addresses: network.tunnels.localAddresses, ports });
  }
  return out;
}
