// `npm run demo`: the mission end to end on this machine, with real parts: three clusters
// with a real node each, Plexus deployed into them as pods from its image the way a user
// deploys it, real pods, and the real `plexus` CLI and kubectl.
//   1. provision the real-node lab (control-plane and node binaries, lab images) and build the Plexus image
//   2. start three clusters, one real node each, pod networks routed between them
//   3. deploy the broker (clusterset root of trust) as a pod
//   4. enroll each cluster: one-time token → the agent's pod joins (key stays in-cluster)
//   5. verify every stored identity against the trust bundle
//   6. export a Service (real pods) from cluster-1 and watch it arrive as a ServiceImport in clusters 2 and 3
//   7. clusterset DNS from a pod in cluster-2, and that pod calling the service by its
//      clusterset name, answered by the pods in cluster-1; nearest-first order and hints
//   8. an RBAC baseline, a person invited and logged in, one kubeconfig, the real kubectl
//      through every cluster's access proxy with the same answers everywhere
//   9. cluster-1 fails (agent and API server stopped): DNS fails over within the bound
//  10. revoke one cluster and show the broker refuses it; the fleet at a glance
// Everything is torn down at the end, also on Ctrl-C or failure.
import '../certs/setup.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { verifyLeaf } from '../certs/verify.ts';
import { formatIdentity } from '../certs/identity.ts';
import { createCsr } from '../certs/csr.ts';
import { generateKeyPair } from '../certs/keys.ts';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import type { AgentError } from '../agent/errors.ts';
import { ensureNamespace } from '../test/e2e/support/objects.ts';
import { accessSteps } from './demo/access-steps.ts';
import { fleetStep } from './demo/fleet-step.ts';
import { dnsSteps, exportSteps, failoverStep, nearestStep } from './demo/discovery-steps.ts';
import { deploySteps } from './demo/deploy-steps.ts';
import { startClusters, type ClusterSet } from '../test/harness/index.ts';
import { detail, step, table } from './demo/ui.ts';

const repo = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'plexus-demo-'));
let clusters: ClusterSet | undefined;
/** The broker's lease: short enough that the fleet step shows the cluster failed in the failover step as Unreachable within seconds. */
const LEASE_SECONDS = 15;

/** Where a failed run leaves its logs (CI keeps test-results/). */
const failureLogs = path.join(repo, 'test-results', 'demo');

/** Pod listings, events and the Plexus pods' logs of every cluster still answering, for a failed run. */
async function savePodLogs(): Promise<void> {
  mkdirSync(failureLogs, { recursive: true });
  for (const c of clusters?.clusters ?? []) {
    if (!c.apiServerRunning) continue;
    const dump = async (file: string, args: string[]) => {
      const r = await c.kubectl(args, { timeoutMs: 15_000 }).catch(() => undefined);
      if (r) writeFileSync(path.join(failureLogs, `${c.name}-${file}`), r.stdout + r.stderr);
    };
    await dump('pods.txt', ['get', 'pods', '-A', '-o', 'wide']);
    await dump('events.txt', ['get', 'events', '-A', '--sort-by=.lastTimestamp']);
    await dump('agent.log', ['logs', '-n', 'plexus-system', '-l', 'app.kubernetes.io/name=plexus-agent', '--all-containers', '--prefix', '--tail=-1']);
    await dump('broker.log', ['logs', '-n', 'plexus-broker', '-l', 'app.kubernetes.io/name=plexus-broker', '--all-containers', '--prefix', '--tail=-1']);
  }
}

async function cleanup(failed: boolean): Promise<void> {
  if (failed && clusters) await savePodLogs().catch(() => {});
  // The pods (broker, agents, workloads) go with their nodes.
  await clusters?.stop(failed ? { saveLogsTo: failureLogs } : {});
  rmSync(work, { recursive: true, force: true });
  if (failed && clusters) process.stdout.write(`     logs of the failed run: ${failureLogs}\n`);
}

function onSignal(): void {
  process.stdout.write('\ninterrupted; cleaning up…\n');
  void cleanup(false).finally(() => process.exit(130));
}
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

/** Runs a provisioning script, showing its progress lines; fails with its last error line. */
async function provision(script: string, progress: RegExp): Promise<void> {
  const child = spawn('bash', [path.join(repo, script)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let last = '';
  child.stderr.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n')) {
      if (!l.trim()) continue;
      last = l;
      if (progress.test(l)) detail(l.replace(/^\[[a-z-]+\] /, ''));
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${script} failed: ${last.replace(/^\[[a-z-]+\] /, '')}`);
}

async function main(): Promise<void> {
  process.stdout.write('Plexus demo — one root of trust and one service catalog across three real clusters\n\n');
  await step('Prerequisites: the real-node lab (control plane, kubelet, containerd, CNI, lab images)', async () => {
    if (process.getuid?.() !== 0) throw new Error('the demo runs real nodes (network namespaces, cgroups, mounts) and needs root: run it as root');
    await provision('scripts/real-nodes.sh', /building|built|installing|image /);
  });

  clusters = await step('Start three clusters, one real node each (containerd, kubelet, kube-proxy, CoreDNS)', () =>
    startClusters(3, { names: ['cluster-1', 'cluster-2', 'cluster-3'], nodes: true }));
  detail(table(['cluster', 'API server', 'node', 'pod network'], clusters.clusters.map((c) => [c.name, c.server, c.node!.name, c.node!.podCidr])));
  detail('pod networks are routed between the clusters (a flat network, as VPC-native CNIs give)');

  const mesh = await deploySteps(clusters, work, { leaseSeconds: LEASE_SECONDS });

  await step('Verify each cluster\'s identity against the trust bundle', async () => {
    const rows: string[][] = [];
    for (const c of clusters!.clusters) {
      const s = await c.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
      const pem = (k: string) => Buffer.from(s.data![k]!, 'base64').toString('utf8');
      const leaf = await verifyLeaf({ certPem: pem('tls.crt'), bundle: TrustBundle.fromPem(pem('ca.crt')), now: new Date(), usage: 'clientAuth', trustDomain: mesh.clusterset });
      const hours = ((leaf.notAfter.getTime() - Date.now()) / 3_600_000).toFixed(1);
      rows.push([c.name, leaf.identity ? formatIdentity(leaf.identity) : '-', `${leaf.notAfter.toISOString()} (${hours} h)`, '✔ chain, expiry, usage, trust domain']);
    }
    detail(table(['cluster', 'identity', 'expires', 'verified'], rows));
  });

  for (const c of clusters.clusters) await ensureNamespace(c, 'shop');
  await exportSteps(clusters);
  await dnsSteps(clusters);
  await nearestStep(clusters);
  await accessSteps(work, mesh.admin, clusters);
  await failoverStep(clusters, mesh.agentDns('cluster-2'), () => mesh.fail('cluster-1'));

  await step('Revoke cluster-3 and show the broker refuses its certificate', async () => {
    await mesh.admin(['broker', 'cluster', 'remove', 'cluster-3']);
    const list = JSON.parse(await mesh.admin(['broker', 'cluster', 'list', '--output', 'json'])) as { clusters: { id: string; state: string }[] };
    detail(table(['cluster', 'state'], list.clusters.map((c) => [c.id, c.state])));
    const c3 = clusters!.cluster('cluster-3');
    const s = await c3.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
    const pem = (k: string) => Buffer.from(s.data![k]!, 'base64').toString('utf8');
    const client = new BrokerClient({ baseUrl: mesh.brokerUrl, trustBundle: pem('ca.crt'), clientCert: { certPem: pem('tls.crt'), keyPem: pem('tls.key') } });
    const keys = await generateKeyPair();
    const csr = await createCsr({ keys, commonName: 'cluster-3', identity: { trustDomain: mesh.clusterset, kind: 'cluster', name: 'cluster-3' } });
    const refused = await client.renew({ csr }).then(() => undefined, (e: AgentError) => e);
    await client.close();
    if (!refused || refused.brokerCode !== 'PLX_BROKER_CLUSTER_REVOKED') throw new Error(`expected the revoked certificate to be refused, got ${refused?.message ?? 'a new certificate'}`);
    detail(`cluster-3 renewal with its still-unexpired certificate → refused: ${refused.brokerCode}`);
  });

  await fleetStep(mesh, ['cluster-1'], LEASE_SECONDS);

  process.stdout.write('\nDone: three real clusters under one root of trust, Plexus running in them as pods;\n'
    + 'a pod in cluster-2 reached a service in cluster-1 by its clusterset name; answers\n'
    + 'nearest-first; one RBAC baseline and one identity giving kubectl the same answers\n'
    + 'everywhere; failover within seconds; a revoked cluster locked out.\n');
}

let failed = false;
const t0 = performance.now();
try {
  await main();
} catch (err) {
  failed = true;
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`);
} finally {
  await step('Clean up (stop the clusters and their pods, remove temp files)', () => cleanup(failed));
}
process.stdout.write(`\n${failed ? 'failed' : 'finished'} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
process.exitCode = failed ? 1 : 0;
