// The agent killed in its container while exports churn, and restarted by the kubelet
// (issue 13). Two real-node clusters with Plexus deployed as pods export Services backed by
// real pods; Deployments are scaled up and down at random and one export comes and goes.
// Meanwhile each agent's container is SIGKILLed three times through its node's containerd
// (in steady state, during its start-up right after the kubelet restarted it, and in steady
// state again); the kubelet restarts it in the same pod. Once the churn stops, every
// cluster must hold exactly the expected ServiceImports, EndpointSlices and DNS answers
// (asked from a pod, through the cluster's CoreDNS): nothing lost, nothing duplicated, no
// orphan. The schedule comes from a seeded PRNG; PLEXUS_E2E_SEED replays it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFailed } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import type { LabNode } from '../harness/lab-node.ts';
import { nodePaths } from '../harness/node-config.ts';
import { waitFor } from '../harness/wait-for.ts';
import { type ExpectedImport, seedFromEnv, seededRandom, untilExactVia } from './support/faults.ts';
import { serviceImports } from './support/objects.ts';
import { apply, kubectlOk, podDig, readyPodIps, scale, toolsPod, waitPodsReady, webServer } from './support/pods.ts';
import { useDeployment } from './support/use-deployment.ts';

const run = promisify(execFile);
const NS = 'churn';
const KILLS_PER_AGENT = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exportOf = (name: string) => ({ apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceExport', metadata: { name, namespace: NS } });

interface AgentContainer { pod: string; id: string; restarts: number; ready: boolean }

/** The agent container of the cluster's (one, not terminating) agent pod. */
async function agentContainer(c: Cluster): Promise<AgentContainer | undefined> {
  const pods = JSON.parse(await kubectlOk(c, ['get', 'pods', '-n', 'plexus-system', '-l', 'app.kubernetes.io/name=plexus-agent', '-o', 'json'])) as {
    items: { metadata: { name: string; deletionTimestamp?: string }; status: { containerStatuses?: { name: string; containerID?: string; restartCount: number; ready: boolean; state?: { running?: object } }[] } }[];
  };
  const pod = pods.items.find((p) => !p.metadata.deletionTimestamp);
  const s = pod?.status.containerStatuses?.find((x) => x.name === 'agent');
  if (!pod || !s?.containerID || !s.state?.running) return undefined;
  return { pod: pod.metadata.name, id: s.containerID.replace(/^containerd:\/\//, ''), restarts: s.restartCount, ready: s.ready };
}

/** SIGKILL to a container's task through the node's containerd (as an OOM kill or a crash would end it). */
async function killContainer(node: LabNode, id: string): Promise<void> {
  await run('ctr', ['--address', nodePaths(node.options.dir).containerdSocket, '--namespace', 'k8s.io', 'tasks', 'kill', '--signal', 'SIGKILL', id], { timeout: 30_000 });
}

describe('agent containers killed during churn and restarted by the kubelet', () => {
  const fixture = useDeployment(2);
  const seed = seedFromEnv();

  it(`${KILLS_PER_AGENT} kills of each agent leave exactly the expected imports, slices and DNS answers in every cluster`, async () => {
    onTestFailed(() => console.error(`[real-nodes-agent-kill] seed ${seed} (replay with PLEXUS_E2E_SEED=${seed})`));
    const d = fixture.d;
    const c = (i: number) => d.clusters[i]!.cluster;
    const random = seededRandom(seed);

    // alpha: headless, both clusters; beta: ClusterSetIP, cluster-1; gamma: headless, cluster-2, export toggled.
    const want = { alpha1: 1, alpha2: 1, beta: 1, gammaExported: true };
    for (const i of [0, 1]) {
      await kubectlOk(c(i), ['create', 'namespace', NS]);
      await apply(c(i), toolsPod(NS, 'tools'), ...webServer({ cluster: c(i).name, ns: NS, name: 'alpha', replicas: 1, headless: true }), exportOf('alpha'));
    }
    await apply(c(0), ...webServer({ cluster: 'cluster-1', ns: NS, name: 'beta', replicas: 1 }), exportOf('beta'));
    await apply(c(1), ...webServer({ cluster: 'cluster-2', ns: NS, name: 'gamma', replicas: 1, headless: true }), exportOf('gamma'));
    for (const i of [0, 1]) await waitPodsReady(c(i), NS, ['pod', '--all']);

    const lookup = (i: number) => async (name: string) => podDig(c(i), NS, 'tools', [name, 'A']);
    const expected = async (): Promise<Record<string, [ExpectedImport, 'Headless' | 'ClusterSetIP']>> => ({
      alpha: [{ 'cluster-1': await readyPodIps(c(0), NS, 'alpha'), 'cluster-2': await readyPodIps(c(1), NS, 'alpha') }, 'Headless'],
      beta: [{ 'cluster-1': await readyPodIps(c(0), NS, 'beta') }, 'ClusterSetIP'],
      gamma: [want.gammaExported ? { 'cluster-2': await readyPodIps(c(1), NS, 'gamma') } : {}, 'Headless'],
    });
    const exact = async (timeoutMs: number) => {
      const e = await expected();
      for (const i of [0, 1]) for (const [svc, [x, type]] of Object.entries(e)) await untilExactVia(lookup(i), c(i), NS, svc, x, type, timeoutMs, 500);
      return e;
    };
    await exact(120_000);

    let churning = true;
    let writes = 0;
    const churn = (async () => {
      while (churning) {
        const r = random();
        const replicas = 1 + Math.floor(random() * 3);
        if (r < 0.3) await scale(c(0), NS, 'alpha', want.alpha1 = replicas);
        else if (r < 0.6) await scale(c(1), NS, 'alpha', want.alpha2 = replicas);
        else if (r < 0.85) await scale(c(0), NS, 'beta', want.beta = replicas);
        else if (want.gammaExported) {
          await kubectlOk(c(1), ['delete', 'serviceexport', '-n', NS, 'gamma']);
          want.gammaExported = false;
        } else {
          await apply(c(1), exportOf('gamma'));
          want.gammaExported = true;
        }
        writes++;
        await sleep(300 + Math.floor(random() * 700));
      }
    })();

    // Per agent: kill in steady state, then again during the start-up that follows, then in steady state.
    const recoveries: string[] = [];
    const killer = async (i: number) => {
      const r = seededRandom(seed + i + 1);
      const node = d.set.lab!.nodes[i]!;
      let current = await waitFor(async () => {
        const a = await agentContainer(c(i));
        return a?.ready ? a : undefined;
      }, { what: `the agent container in ${c(i).name} Ready`, timeoutMs: 60_000, intervalMs: 200 });
      for (let k = 0; k < KILLS_PER_AGENT; k++) {
        const duringStart = k % 2 === 1;
        const nextDuringStart = (k + 1) % 2 === 1 && k + 1 < KILLS_PER_AGENT;
        await sleep(duringStart ? Math.floor(r() * 1000) : 2000 + Math.floor(r() * 3000));
        const killedAt = Date.now();
        await killContainer(node, current.id);
        const before = current.restarts;
        current = await waitFor(async () => {
          const a = await agentContainer(c(i));
          return a && a.restarts > before && (nextDuringStart || a.ready) ? a : undefined;
        }, { what: `the kubelet to restart the agent in ${c(i).name}`, timeoutMs: 180_000, intervalMs: 100 });
        recoveries.push(`${c(i).name} kill ${k + 1}${duringStart ? ' (during start-up)' : ''}: ${current.ready ? 'Ready' : 'running'} again `
          + `${Date.now() - killedAt} ms after the kill (restart count ${current.restarts})`);
      }
    };
    const started = Date.now();
    await Promise.all([killer(0), killer(1)]);
    churning = false;
    await churn;
    const killsMs = Date.now() - started;
    for (const i of [0, 1]) for (const app of ['alpha', ...(i === 0 ? ['beta'] : ['gamma'])]) await kubectlOk(c(i), ['rollout', 'status', '-n', NS, `deployment/${app}`, '--timeout=120s']);

    const settled = Date.now();
    const final = await exact(120_000);
    const convergedMs = Date.now() - settled;
    for (const i of [0, 1]) {
      const names = (await serviceImports(c(i), NS)).map((s) => s.metadata.name).sort();
      expect(names).toEqual(want.gammaExported ? ['alpha', 'beta', 'gamma'] : ['alpha', 'beta']);
    }
    console.info(`[real-nodes-agent-kill] seed ${seed}: ${recoveries.length} kills and ${writes} churn writes in ${killsMs} ms; `
      + `every cluster exact ${convergedMs} ms after the churn stopped and pods settled (${JSON.stringify(final)})\n  ${recoveries.join('\n  ')}`);
  }, 900_000);
});
