// Plexus deployed as pods (deployPlexus) into two real-node clusters on isolated pod
// networks with the same pod CIDR: the deploy harness and the agents rely on node IPs only
// (broker, proxy and probe on NodePorts), never on a pod IP crossing clusters, so the agent
// in cluster-2 enrolls with the broker in cluster-1 although neither cluster can reach the
// other's pods. What crosses is the agent pod's traffic to cluster-1's node IP, masqueraded
// to cluster-2's node IP on the way (lab-network.ts).
// Needs root, `npm run nodes:install` and buildah; runs with `npm run test:nodes`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSet } from '../harness/cluster-set.ts';
import { deployPlexus } from '../harness/plexus-deploy.ts';
import type { PlexusDeployment } from '../harness/plexus-deploy.ts';
import { startClusters } from '../harness/start-clusters.ts';
import { kubectlOk } from './support/pods.ts';

describe('real nodes: Plexus deployed into two isolated clusters with the same pod CIDR', () => {
  let set: ClusterSet;
  let plexus: PlexusDeployment;
  let failed = false;

  beforeAll(async () => {
    try {
      set = await startClusters(2, { nodes: { podNetworks: 'isolated' } });
      plexus = await deployPlexus(set);
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 1_200_000);

  afterAll(async () => {
    if (plexus) console.log(`[real-nodes-isolated-deploy] deploy ms: ${JSON.stringify(plexus.timings)}`);
    if (failed && plexus) await plexus.saveLogs().catch(() => undefined);
    await set?.stop(failed ? { saveLogsTo: 'test-results/real-nodes-isolated-deploy-logs' } : {});
  }, 120_000);

  it('the agent in cluster-2 enrolls through cluster-1\'s node IP: both clusters are active at the broker', async () => {
    try {
      const [c1, c2] = set.clusters;
      expect(c1!.node!.podCidr).toBe(c2!.node!.podCidr);
      const agentIps = await Promise.all(set.clusters.map(async (c) => (await kubectlOk(c, ['-n', 'plexus-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=plexus-agent', '-o', 'jsonpath={.items[*].status.podIP}'])).trim()));
      console.log(`[real-nodes-isolated-deploy] agent pod IPs: ${agentIps.join(', ')} (both from ${c1!.node!.podCidr}); broker ${plexus.brokerUrl}`);
      const list = await plexus.plexusJson<{ clusters: { id: string; state: string }[] }>(['broker', 'cluster', 'list']);
      expect(list.clusters.map((c) => `${c.id}=${c.state}`).sort()).toEqual(['cluster-1=active', 'cluster-2=active']);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});
