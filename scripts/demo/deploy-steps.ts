// Demo steps that deploy Plexus the way a user does (test/harness/plexus-deploy.ts does
// each part): the image built from the Dockerfile and loaded into every node, the broker as
// a pod (`kubectl apply -k`), then each cluster enrolled by its agent's pod with a one-time
// token, and each CoreDNS handing the clusterset.local zone to its agent.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterSet } from '../../test/harness/index.ts';
import { PlexusDeployment, plexusImage, type DeployOptions } from '../../test/harness/plexus-deploy.ts';
import { runPlexus } from '../../test/support/plexus-process.ts';
import { ZONES } from './discovery-steps.ts';
import { kubectlOk } from './pods.ts';
import { detail, step, table } from './ui.ts';

/** Runs an admin command (`plexus broker …`, `plexus status`) with the admin identity; returns stdout. */
export type Admin = (args: string[]) => Promise<string>;

export interface DemoMesh {
  readonly deployment: PlexusDeployment;
  readonly clusterset: string;
  /** The broker as this machine reaches it (its cluster's node address, NodePort). */
  readonly brokerUrl: string;
  readonly admin: Admin;
  /** How the admin command reads when typed (for the output). */
  adminCommand(args: string[]): string;
  /** The directory holding admin.crt and admin.key. */
  readonly adminDir: string;
  /** ClusterIP of the agent's DNS Service in a cluster. */
  agentDns(cluster: string): string;
  /**
   * Takes a cluster down: its agent pod goes away, then its kube-apiserver stops. Resolves
   * once the pod is gone, to when that was (performance.now()) and the API server's stop,
   * still under way: a kube-apiserver with watches open takes up to the harness's 15 s
   * SIGTERM grace to exit, and failover must not be timed from its end.
   */
  fail(cluster: string): Promise<{ gone: number; apiServerStopped: Promise<void> }>;
}

// As deployPlexus: an agent took 160 s to be Ready at load 48.
const TIMEOUT_MS = 300_000;

/** Where the broker pod keeps its data dir (deploy/broker: `--data-dir=/data/broker`). */
const POD_DATA_DIR = '/data/broker';

/** Copies the admin identity `broker init` made in the broker's volume to this machine, as an operator would. */
async function fetchAdminIdentity(d: PlexusDeployment, dataDir: string): Promise<void> {
  mkdirSync(path.join(dataDir, 'admin'), { recursive: true, mode: 0o700 });
  for (const file of ['admin.crt', 'admin.key', 'ca.crt']) {
    const pem = await kubectlOk(d.broker.cluster, ['-n', 'plexus-broker', 'exec', 'deploy/plexus-broker', '-c', 'broker', '--', 'cat', `${POD_DATA_DIR}/admin/${file}`]);
    writeFileSync(path.join(dataDir, 'admin', file), pem, { mode: 0o600 });
  }
}

/**
 * `plexus <args>` from this machine; while the broker is unreachable (its pod restarting:
 * on a machine at load 60 its liveness probe timed out and the kubelet restarted it) it is
 * asked again for up to 3 min. Refused connections mean nothing was done, so retrying is safe.
 */
async function adminWithRetry(args: string[]): Promise<string> {
  const deadline = performance.now() + 180_000;
  for (;;) {
    const r = await runPlexus(args);
    if (r.code === 0) return r.stdout;
    if (!r.stderr.includes('PLX_BROKER_UNREACHABLE') || performance.now() > deadline) {
      throw new Error(`plexus ${args.slice(0, 3).join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export async function deploySteps(clusters: ClusterSet, work: string, o: { leaseSeconds: number }): Promise<DemoMesh> {
  const names = clusters.clusters.map((c) => c.name);
  const options: DeployOptions = {
    clusterset: 'demo.plexus.local',
    brokerCluster: 0,
    zones: names.map((n) => ZONES[n]![0]),
    regions: names.map((n) => ZONES[n]![1]),
    brokerArgs: [`--lease-duration=${o.leaseSeconds}s`],
    timeoutMs: TIMEOUT_MS,
  };

  const image = await step('Build the Plexus image from the Dockerfile (buildah) and load it into every node', async () => {
    const img = await plexusImage();
    // One node at a time, each tried twice: three parallel imports of the 247 MB archive
    // overran ctr's 120 s limit on a loaded 2-core machine.
    for (const n of clusters.lab!.nodes) await n.importImages([img.tar]).catch(() => n.importImages([img.tar]));
    return img;
  });
  detail(`${image.ref} (cached by a hash of what the Dockerfile copies; no registry involved)`);

  const d = new PlexusDeployment(clusters, image, options);
  const dataDir = path.join(work, 'broker');
  await step('Deploy the broker in cluster-1 as a pod: kubectl apply -k deploy/overlays/real-nodes/broker', async () => {
    await d.deployBroker(options, TIMEOUT_MS);
    await fetchAdminIdentity(d, dataDir);
  });
  const pod = await d.brokerPod();
  detail(`pod plexus-broker/${pod} Ready: uid 1000, read-only root filesystem, all capabilities dropped`);
  detail(`its init container made the clusterset root of trust (${d.clusterset}) in the broker's volume; admin identity copied to ${dataDir}/admin`);
  detail(`reachable at ${d.brokerUrl} (NodePort on cluster-1's node)`);

  const adminFlags = ['--data-dir', dataDir, '--broker', d.brokerUrl];
  const mesh: DemoMesh = {
    deployment: d,
    clusterset: d.clusterset,
    brokerUrl: d.brokerUrl,
    admin: (args) => adminWithRetry([...args, ...adminFlags]),
    adminCommand: (args) => ['plexus', ...args, ...adminFlags].join(' '),
    adminDir: path.join(dataDir, 'admin'),
    agentDns: (cluster) => d.cluster(cluster).dnsServiceIp,
    fail: async (cluster) => {
      const c = d.cluster(cluster).cluster;
      await kubectlOk(c, ['-n', 'plexus-system', 'scale', 'deployment/plexus-agent', '--replicas=0']);
      // The pod must be gone before the API server stops, or its kubelet never learns it should go.
      await kubectlOk(c, ['-n', 'plexus-system', 'wait', '--for=delete', 'pod', '-l', 'app.kubernetes.io/name=plexus-agent', '--timeout=60s']);
      const gone = performance.now();
      return { gone, apiServerStopped: c.stopApiServer() };
    },
  };

  await step('Enroll the three clusters: a one-time token each, then the agent\'s pod joins (key made in the pod, CSR only)', async () => {
    const tokens: { token: string; expiresAt: string }[] = [];
    for (const a of d.agents) {
      const t = JSON.parse(await mesh.admin(['broker', 'token', 'create', '--cluster', a.clusterId, '--ttl', '15m', '--output', 'json'])) as { token: string; caFingerprint: string; expiresAt: string };
      d.caFingerprint = t.caFingerprint;
      tokens.push(t);
    }
    // One `kubectl apply -k deploy/overlays/real-nodes/agent` per cluster, with the Secret
    // plexus-join (the token) and the ConfigMap plexus-agent (broker URL, CA fingerprint, …).
    await Promise.all(d.agents.map((a, i) => d.deployAgent(a, tokens[i]!.token, options, TIMEOUT_MS)));
    const rows = await Promise.all(d.agents.map(async (a, i) => [a.name, `${tokens[i]!.token.slice(0, 14)}…`, await a.agentPod(), ZONES[a.name]!.join('/')]));
    detail(table(['cluster', 'token (used once; the broker keeps a hash)', 'agent pod (Ready)', 'zone/region'], rows));
    detail(`each agent's init container joined and stored its identity in Secret plexus-system/plexus-agent-identity; CA pinned by fingerprint ${d.caFingerprint.slice(0, 23)}…`);
  });

  await step('Hand clusterset.local to each agent from its cluster\'s CoreDNS (plexus agent dns patch-coredns)', async () => {
    await Promise.all(d.agents.map((a) => d.patchCoreDns(a, TIMEOUT_MS)));
    detail(table(['cluster', 'kube-dns (CoreDNS)', 'forwards clusterset.local to plexus-dns'], d.agents.map((a) => [a.name, a.clusterDnsIp, a.dnsServiceIp])));
  });
  return mesh;
}
