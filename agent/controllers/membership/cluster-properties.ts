// The About API (KEP-2149) properties this cluster owns: `cluster.clusterset.k8s.io` (its
// ID) and `clusterset.k8s.io` (exists exactly while it is a member). The ID may not change
// while the cluster is a member, so a different existing ID with membership present is a
// refusal to start, never an overwrite.
import type { ClusterProperty } from '../../../crds/types.ts';
import { PROPERTY_CLUSTERSET, PROPERTY_CLUSTER_ID } from '../../../crds/types.ts';
import { AgentError } from '../../errors.ts';
import type { KubeApi } from '../../kube/kube-api.ts';
import { CLUSTER_PROPERTIES } from '../../kube/resources.ts';

export interface Membership {
  clusterId: string;
  clusterset: string;
}

function property(name: string, value: string): ClusterProperty {
  return { metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'plexus' } }, spec: { value } };
}

/** Checks the existing properties, then applies both (ID first). Returns whether the ID changed. */
export async function writeClusterProperties(api: KubeApi, m: Membership): Promise<{ previousClusterId: string | undefined }> {
  const [id, set] = await Promise.all([
    api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTER_ID }),
    api.get(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTERSET }),
  ]);
  const currentId = id?.spec?.value;
  const currentSet = set?.spec?.value;
  if (currentSet !== undefined && currentSet !== m.clusterset) {
    throw new AgentError('PLX_AGENT_CLUSTERSET_MISMATCH',
      `this cluster is a member of clusterset "${currentSet}" (ClusterProperty ${PROPERTY_CLUSTERSET}), not "${m.clusterset}"; leave that clusterset first`);
  }
  if (currentSet !== undefined && currentId !== undefined && currentId !== m.clusterId) {
    throw new AgentError('PLX_AGENT_CLUSTER_ID_IMMUTABLE',
      `ClusterProperty ${PROPERTY_CLUSTER_ID} is "${currentId}" but the agent is configured as "${m.clusterId}"; a cluster ID is immutable while the cluster is a member (KEP-2149): use "${currentId}" or leave the clusterset first`);
  }
  await api.apply(CLUSTER_PROPERTIES, property(PROPERTY_CLUSTER_ID, m.clusterId));
  await api.apply(CLUSTER_PROPERTIES, property(PROPERTY_CLUSTERSET, m.clusterset));
  return { previousClusterId: currentId !== m.clusterId ? currentId : undefined };
}

/** Ends membership: removes `clusterset.k8s.io` (the cluster ID stays, as KEP-2149 allows). */
export async function removeClustersetProperty(api: KubeApi): Promise<void> {
  await api.delete(CLUSTER_PROPERTIES, { name: PROPERTY_CLUSTERSET });
}
