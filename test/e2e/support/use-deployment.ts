// Vitest fixture for the real-pod e2e suites: N real-node clusters (useClusters) with
// Plexus deployed as pods (deployPlexus), nodes labelled with their zones before anything
// is scheduled (kube-proxy picks hinted endpoints by its Node's zone label). When a test
// failed, the deployment's diagnostics (pods, Plexus objects, agent and broker logs) are
// written beside the component logs that useClusters keeps.
import { afterAll, beforeAll } from 'vitest';
import { anyFailed, type SuiteLike, useClusters } from '../../harness/use-clusters.ts';
import { deployPlexus, type DeployOptions, type PlexusDeployment } from '../../harness/plexus-deploy.ts';
import { kubectlOk } from './pods.ts';

/** The image build (when agent/, broker/ … changed) runs in here: minutes on a busy machine. */
const DEPLOY_TIMEOUT_MS = 900_000;

export function useDeployment(n: number, o: DeployOptions = {}): { readonly d: PlexusDeployment } {
  const lab = useClusters(n, { nodes: true });
  let d: PlexusDeployment | undefined;

  beforeAll(async () => {
    for (const [i, zone] of (o.zones ?? []).entries()) {
      const c = lab.cluster(i);
      if (zone) await kubectlOk(c, ['label', 'node', c.node!.name, `topology.kubernetes.io/zone=${zone}`, '--overwrite']);
    }
    for (const [i, region] of (o.regions ?? []).entries()) {
      const c = lab.cluster(i);
      if (region) await kubectlOk(c, ['label', 'node', c.node!.name, `topology.kubernetes.io/region=${region}`, '--overwrite']);
    }
    d = await deployPlexus(lab.set, o);
    console.info(`[deploy] ${n} clusters: ${JSON.stringify(d.timings)} ms`);
  }, DEPLOY_TIMEOUT_MS);

  // Registered after useClusters' hooks, so it runs before the set stops.
  afterAll(async (suite) => {
    if (d && anyFailed(suite as SuiteLike)) console.error(`[deploy] diagnostics in ${await d.saveLogs()}`);
  });

  return {
    get d() {
      if (!d) throw new Error('the deployment is available only inside the tests of the block that called useDeployment()');
      return d;
    },
  };
}
