// The ServiceExport conditions of KEP-1645, computed from facts (pure): Valid from the
// Service, Ready from the outcome of publishing, Conflict from this cluster's entry in the
// merged service.
import type { V1Service } from '@kubernetes/client-node';
import type { MergedService } from '../../../broker/api/catalog.ts';
import type { DesiredCondition } from '../../kube/conditions.ts';
import { parseServicePolicy } from '../../topology/policy.ts';

/** `annotations` are the ServiceExport's: an unreadable answer policy (plexus.io/dns-policy, plexus.io/weights) is InvalidPolicy. */
export function validCondition(service: V1Service | undefined, generation: number | undefined, annotations?: Record<string, string>): DesiredCondition {
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  if (!service) return { type: 'Valid', status: 'False', reason: 'NoService', message: 'no Service with the same name in this namespace', ...gen };
  if (service.spec?.type === 'ExternalName') {
    return { type: 'Valid', status: 'False', reason: 'InvalidServiceType', message: 'an ExternalName Service cannot be exported', ...gen };
  }
  const policy = parseServicePolicy(annotations);
  if (!policy.ok) return { type: 'Valid', status: 'False', reason: 'InvalidPolicy', message: policy.problem, ...gen };
  return { type: 'Valid', status: 'True', reason: 'Valid', message: 'the Service can be exported', ...gen };
}

export type PublishOutcome =
  | { kind: 'exported' }
  | { kind: 'invalid' }
  | { kind: 'pending'; message: string }
  | { kind: 'failed'; message: string };

export function readyCondition(o: PublishOutcome, generation: number | undefined): DesiredCondition {
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  switch (o.kind) {
    case 'exported':
      return { type: 'Ready', status: 'True', reason: 'Exported', message: 'published to the clusterset broker', ...gen };
    case 'invalid':
      return { type: 'Ready', status: 'False', reason: 'Pending', message: 'not exported while the export is not valid', ...gen };
    case 'pending':
      return { type: 'Ready', status: 'Unknown', reason: 'Pending', message: o.message, ...gen };
    case 'failed':
      return { type: 'Ready', status: 'False', reason: 'Failed', message: o.message, ...gen };
  }
}

/** undefined when the merged service does not (yet) list this cluster. */
export function conflictCondition(merged: MergedService | null | undefined, clusterId: string, generation: number | undefined): DesiredCondition | undefined {
  const member = merged?.members.find((m) => m.cluster === clusterId);
  if (!merged || !member) return undefined;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  if (member.conflicts.length === 0) return { type: 'Conflict', status: 'False', reason: 'NoConflicts', message: 'merged cleanly with the other exports', ...gen };
  const oldest = merged.members[0]?.cluster ?? 'unknown';
  const reasons = [...new Set(member.conflicts)];
  const excluded = member.excluded ? '; this cluster\'s endpoints are left out of the import' : '';
  const decides = oldest === clusterId ? 'this export is the oldest and decides' : `the oldest export (cluster ${oldest}) decides`;
  return {
    type: 'Conflict', status: 'True', reason: reasons.join(','),
    message: `${reasons.join(', ')}: other exports of this service differ; ${decides}${excluded}`, ...gen,
  };
}

/**
 * Gateways between networks tunnel TCP only. In a fleet of several networks (`otherNetworks`
 * names those other than this cluster's), an export with UDP or SCTP ports says so: clusters
 * on this cluster's network still get every port, pod to pod; clusters on other networks
 * get only the TCP ports (none at all when there is no TCP port). Absent on one network.
 */
export function crossNetworkCondition(service: V1Service, otherNetworks: readonly string[], generation: number | undefined): DesiredCondition | undefined {
  if (otherNetworks.length === 0) return undefined;
  const gen = generation === undefined ? {} : { observedGeneration: generation };
  const ports = service.spec?.ports ?? [];
  const refused = ports.filter((p) => (p.protocol ?? 'TCP') !== 'TCP').map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol}`);
  const networks = [...otherNetworks].sort().join(', ');
  if (refused.length === 0) {
    return { type: 'CrossNetwork', status: 'True', reason: 'Tunneled', message: `every port reaches the other networks (${networks}) through gateways`, ...gen };
  }
  const tcp = ports.length - refused.length;
  return {
    type: 'CrossNetwork', status: 'False', reason: 'ProtocolNotTunneled',
    message: `${refused.join(', ')}: gateways tunnel TCP only, so clusters on other networks (${networks}) `
      + `${tcp > 0 ? 'get only the TCP ports' : 'cannot reach this service'}; clusters on this cluster's network get every port`,
    ...gen,
  };
}
