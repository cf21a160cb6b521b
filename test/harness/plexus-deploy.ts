// Plexus deployed into a real-node lab (startClusters(n, { nodes: true })) the way users
// deploy it: the image built from the Dockerfile (scripts/plexus-image.sh) and imported into
// every node, the broker and the agents applied with `kubectl apply -k` from overlays of
// deploy/overlays/real-nodes/, join tokens minted by `kubectl exec` into the broker pod,
// identities stored in Secrets by the agents' init containers, and each cluster's CoreDNS
// given the clusterset.local stub domain by `plexus agent dns patch-coredns`.
//
// The harness plays two parts a real platform provides and the lab lacks: a storage
// provisioner (one hostPath PV for the broker's PVC, below the set's dir) and DNS names for
// the NodePorts (agents and peers dial node IPs, which the broker's certificate names).
import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Cluster, KubectlOptions, KubectlResult } from './cluster.ts';
import type { ClusterSet } from './cluster-set.ts';
import { HarnessError } from './errors.ts';
import { clusterDnsIp } from './node-lab.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const overlays = path.join(repoRoot, 'deploy', 'overlays', 'real-nodes');

/** NodePorts of deploy/overlays/real-nodes/. */
export const NODE_PORTS = { broker: 30743, proxy: 30443, probe: 30943 } as const;

export interface PlexusImage {
  readonly tar: string;                 // docker-archive in the images cache
  readonly ref: string;                 // plexus.local/plexus:<inputs hash>
}

export interface DeployOptions {
  /** Clusterset name (the broker's trust domain); default lab.plexus.test. */
  readonly clusterset?: string;
  /** Index of the cluster that hosts the broker; default 0. */
  readonly brokerCluster?: number;
  /** Indexes of the clusters that get an agent; default all. */
  readonly agents?: readonly number[];
  /** `--zone` / `--region` of each cluster's agent, by cluster index (nearest-first answers). */
  readonly zones?: readonly (string | undefined)[];
  readonly regions?: readonly (string | undefined)[];
  /** Extra `plexus broker start` flags, e.g. ['--cluster-cert-lifetime=2m']. */
  readonly brokerArgs?: readonly string[];
  /** Extra `plexus agent run` flags for every agent, and per cluster index. */
  readonly agentArgs?: readonly string[];
  readonly clusterAgentArgs?: readonly (readonly string[] | undefined)[];
  /** Forward clusterset.local from each cluster's CoreDNS to its agent; default true. */
  readonly patchCoreDns?: boolean;
  /** The image to deploy; default scripts/plexus-image.sh's (built when the tree changed). */
  readonly image?: PlexusImage;
  /** For each wait (image build excluded); default 300 s (a 2-core machine shared by several labs is slow). */
  readonly timeoutMs?: number;
}

/** Wall-clock phases of a deploy, in ms (for benchmarks and reports). */
export interface DeployTimings {
  image: number;                        // build (or cache hit) and import into every node
  broker: number;                       // apply -k until the broker pod is Ready
  agents: number;                       // first agent apply -k until every agent pod is Ready
  coreDns: number;                      // patch-coredns until every CoreDNS answers clusterset.local
}

export class DeployedCluster {
  readonly cluster: Cluster;
  readonly index: number;
  /** The cluster ID it joined as (the harness cluster name). */
  readonly clusterId: string;
  readonly nodeIp: string;
  readonly proxyUrl: string;
  readonly probeUrl: string;
  /** ClusterIP of kube-dns (CoreDNS, what pods use) and of plexus-dns (the agent's DNS server). */
  readonly clusterDnsIp: string;
  dnsServiceIp = '';

  constructor(cluster: Cluster, index: number) {
    if (!cluster.node) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `cluster ${cluster.name} has no real node: start the set with { nodes: true }`);
    this.cluster = cluster;
    this.index = index;
    this.clusterId = cluster.name;
    this.nodeIp = cluster.node.ip;
    this.proxyUrl = `https://${this.nodeIp}:${NODE_PORTS.proxy}`;
    this.probeUrl = `https://${this.nodeIp}:${NODE_PORTS.probe}`;
    this.clusterDnsIp = clusterDnsIp(cluster.serviceCidr);
  }

  get name(): string { return this.cluster.name; }

  kubectl(args: readonly string[], o?: KubectlOptions): Promise<KubectlResult> { return this.cluster.kubectl(args, o); }

  /** Name of the agent's running pod (the newest, after a restart). */
  agentPod(): Promise<string> { return runningPod(this.cluster, 'plexus-system', 'plexus-agent'); }
}

async function kubectlOk(cluster: Cluster, args: readonly string[], o?: KubectlOptions): Promise<string> {
  const r = await cluster.kubectl(args, o);
  if (r.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `kubectl ${args.slice(0, 4).join(' ')} in ${cluster.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The newest Running, not terminating pod of app.kubernetes.io/name=`app`. */
async function runningPod(cluster: Cluster, namespace: string, app: string): Promise<string> {
  const out = await kubectlOk(cluster, ['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/name=${app}`, '--sort-by=.metadata.creationTimestamp',
    '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}']);
  const pods = out.split('\n').map((l) => l.trim().split(' ')).filter(([name, phase, deleting]) => name && phase === 'Running' && !deleting);
  const pod = pods.at(-1)?.[0];
  if (!pod) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `no running ${app} pod in ${cluster.name}/${namespace}`);
  return pod;
}

let imageBuild: Promise<PlexusImage> | undefined;

/** scripts/plexus-image.sh: builds the image when the tree changed (once per process), else the cached tar. */
export function plexusImage(): Promise<PlexusImage> {
  imageBuild ??= run('bash', [path.join(repoRoot, 'scripts', 'plexus-image.sh')], { maxBuffer: 16 << 20, timeout: 900_000 }).then(({ stdout }) => {
    const [tar, ref] = stdout.trim().split('\n').at(-1)!.split(' ');
    if (!tar || !ref) throw new HarnessError('PLX_HARNESS_START_FAILED', `scripts/plexus-image.sh printed no "<tar> <ref>": ${stdout}`);
    return { tar, ref };
  }, (err: Error & { stderr?: string }) => {
    imageBuild = undefined;
    throw new HarnessError('PLX_HARNESS_START_FAILED', `building the Plexus image failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
  });
  return imageBuild;
}

const yamlList = (items: readonly string[]): string => JSON.stringify(items);
const argPatches = (container: string, args: readonly string[]): string =>
  args.map((a) => `      - { op: add, path: /spec/template/spec/${container}/args/-, value: ${JSON.stringify(a)} }`).join('\n');

/** A kustomization on top of an overlay (kustomize wants it relative): the image tag, extra args, and generated objects. */
function writeKustomization(dir: string, o: { base: string; namespace: string; image: PlexusImage; deployment: string; args: readonly string[]; extra: string }): string {
  mkdirSync(dir, { recursive: true });
  const [, tag] = o.image.ref.split(':');
  const patches = o.args.length
    ? `patches:\n  - target: { kind: Deployment, name: ${o.deployment} }\n    patch: |-\n${argPatches('containers/0', o.args)}\n` : '';
  writeFileSync(path.join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: ${yamlList([path.relative(dir, o.base)])}
images:
  - { name: plexus.local/plexus, newTag: ${JSON.stringify(tag)} }
${patches}${o.extra}`);
  return dir;
}

export class PlexusDeployment {
  readonly set: ClusterSet;
  readonly image: PlexusImage;
  readonly clusterset: string;
  readonly broker: DeployedCluster;
  /** Every cluster of the set (those without an agent too), by index. */
  readonly clusters: readonly DeployedCluster[];
  readonly agents: readonly DeployedCluster[];
  readonly brokerUrl: string;
  caFingerprint = '';
  readonly timings: DeployTimings = { image: 0, broker: 0, agents: 0, coreDns: 0 };
  readonly #dir: string;

  constructor(set: ClusterSet, image: PlexusImage, o: DeployOptions) {
    this.set = set;
    this.image = image;
    this.clusterset = o.clusterset ?? 'lab.plexus.test';
    this.clusters = set.clusters.map((c, i) => new DeployedCluster(c, i));
    const b = this.clusters[o.brokerCluster ?? 0];
    if (!b) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `no cluster ${o.brokerCluster} for the broker`);
    this.broker = b;
    this.agents = (o.agents ?? this.clusters.map((_, i) => i)).map((i) => {
      const c = this.clusters[i];
      if (!c) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `no cluster ${i} for an agent`);
      return c;
    });
    this.brokerUrl = `https://${b.nodeIp}:${NODE_PORTS.broker}`;
    this.#dir = path.join(set.dir, 'plexus-deploy');
  }

  cluster(which: string | number): DeployedCluster {
    const c = typeof which === 'number' ? this.clusters[which] : this.clusters.find((x) => x.name === which);
    if (!c) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `no cluster ${String(which)} in this deployment`);
    return c;
  }

  /**
   * Runs `plexus <args>` in the broker pod (`kubectl exec`; the pod's env names the data dir).
   * Never throws on a non-zero exit. Default timeout 180 s: a fresh Node process loading the
   * sources took over a minute on a 2-core machine at load 48.
   */
  plexus(args: readonly string[], o?: KubectlOptions): Promise<KubectlResult> {
    return this.broker.cluster.kubectl(['-n', 'plexus-broker', 'exec', 'deploy/plexus-broker', '-c', 'broker', '--',
      'node', '/app/bin/plexus.ts', ...args], { timeoutMs: 180_000, ...o });
  }

  /** `plexus <args> --output json` in the broker pod, parsed; a non-zero exit throws. */
  async plexusJson<T>(args: readonly string[]): Promise<T> {
    const r = await this.plexus([...args, '--output', 'json']);
    if (r.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `plexus ${args.join(' ')} in the broker pod: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  brokerPod(): Promise<string> { return runningPod(this.broker.cluster, 'plexus-broker', 'plexus-broker'); }

  /** Resident memory of each cluster's pods (all of them, CoreDNS included), from its node's cgroup root. */
  podMemoryBytes(): { cluster: string; bytes: number | undefined }[] {
    return this.clusters.map((c, i) => ({ cluster: c.name, bytes: this.set.lab?.nodes[i]?.podMemoryBytes() }));
  }

  /** Everything useful after a failure: pods, Plexus objects, events, the Plexus containers' logs, per cluster. */
  async logs(): Promise<string> {
    const sections = await Promise.all(this.clusters.map(async (c) => {
      const cmds: string[][] = [
        ['get', 'pods,svc,endpointslices', '-A', '-o', 'wide'],
        ['get', 'serviceexports,serviceimports', '-A', '-o', 'yaml'],
        ['-n', 'plexus-system', 'describe', 'pods'],
        ['-n', 'plexus-system', 'logs', 'deploy/plexus-agent', '-c', 'join', '--tail=50'],
        ['-n', 'plexus-system', 'logs', 'deploy/plexus-agent', '-c', 'agent', '--tail=300'],
        ['-n', 'plexus-system', 'logs', 'deploy/plexus-agent', '-c', 'agent', '--previous', '--tail=100'],
        ['-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'yaml'],
        ['get', 'events', '-A', '--sort-by=.lastTimestamp'],
        ...(c === this.broker ? [['-n', 'plexus-broker', 'describe', 'pods'], ['-n', 'plexus-broker', 'logs', 'deploy/plexus-broker', '-c', 'init'], ['-n', 'plexus-broker', 'logs', 'deploy/plexus-broker', '-c', 'broker', '--tail=300']] : []),
      ];
      const outs = await Promise.all(cmds.map(async (args) => {
        const r = await c.kubectl(args, { timeoutMs: 20_000 }).catch((e: Error) => ({ stdout: '', stderr: e.message, code: -1 }));
        return `### ${c.name}: kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`;
      }));
      return outs.join('\n');
    }));
    return sections.join('\n\n');
  }

  /** Writes logs() into the set's logs dir (kept by set.stop({ saveLogsTo })) and returns its path. */
  async saveLogs(name = 'plexus-deploy.log'): Promise<string> {
    const file = path.join(this.set.logsDir, name);
    appendFileSync(file, `${new Date().toISOString()}\n${await this.logs()}\n`);
    return file;
  }

  /** The broker: PV (the lab's provisioner), apply -k, wait Ready, read the CA fingerprint. */
  async deployBroker(o: DeployOptions, timeoutMs: number): Promise<void> {
    const c = this.broker.cluster;
    const data = path.join(this.#dir, 'broker-data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    chownSync(data, 1000, 1000);                 // the image's node user; hostPath gets no fsGroup
    await kubectlOk(c, ['apply', '-f', '-'], { input: brokerVolume(data) });
    const dir = writeKustomization(path.join(this.#dir, 'broker'), {
      base: path.join(overlays, 'broker'), namespace: 'plexus-broker', image: this.image, deployment: 'plexus-broker',
      args: [`--san=${this.broker.nodeIp}`, ...(o.brokerArgs ?? [])],
      extra: `configMapGenerator:
  - { name: plexus-broker, namespace: plexus-broker, behavior: replace, literals: [${JSON.stringify(`clusterset=${this.clusterset}`)}] }
generatorOptions: { disableNameSuffixHash: true }
`,
    });
    await kubectlOk(c, ['apply', '-k', dir]);
    await waitReady(c, 'plexus-broker', 'plexus-broker', timeoutMs);
  }

  /** A join token for `clusterId` (`plexus broker token create` in the broker pod); records the CA fingerprint it prints. */
  async createToken(clusterId: string, ttl = '1h'): Promise<string> {
    const r = await this.plexusJson<{ token: string; caFingerprint: string }>(['broker', 'token', 'create', '--cluster', clusterId, '--ttl', ttl]);
    this.caFingerprint = r.caFingerprint;
    return r.token;
  }

  /** One agent: apply -k with the join Secret (`token`) and the ConfigMap plexus-agent, wait Ready. */
  async deployAgent(a: DeployedCluster, token: string, o: DeployOptions, timeoutMs: number): Promise<void> {
    const zone = o.zones?.[a.index];
    const region = o.regions?.[a.index];
    const args = [...(zone ? [`--zone=${zone}`] : []), ...(region ? [`--region=${region}`] : []), ...(o.agentArgs ?? []), ...(o.clusterAgentArgs?.[a.index] ?? [])];
    const literals = [`broker-url=${this.brokerUrl}`, `cluster-id=${a.clusterId}`, `ca-fingerprint=${this.caFingerprint}`,
      `proxy-url=${a.proxyUrl}`, `probe-url=${a.probeUrl}`];
    const dir = writeKustomization(path.join(this.#dir, 'agents', a.name), {
      base: path.join(overlays, 'agent'), namespace: 'plexus-system', image: this.image, deployment: 'plexus-agent', args,
      extra: `configMapGenerator:
  - { name: plexus-agent, namespace: plexus-system, literals: ${yamlList(literals)} }
secretGenerator:
  - { name: plexus-join, namespace: plexus-system, literals: ${yamlList([`token=${token}`])} }
generatorOptions: { disableNameSuffixHash: true }
`,
    });
    await kubectlOk(a.cluster, ['apply', '-k', dir]);
    await waitReady(a.cluster, 'plexus-system', 'plexus-agent', timeoutMs);
    a.dnsServiceIp = (await kubectlOk(a.cluster, ['-n', 'plexus-system', 'get', 'svc', 'plexus-dns', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  }

  /** `plexus agent dns patch-coredns` as the cluster admin, then wait until CoreDNS answers the zone through kube-dns. */
  async patchCoreDns(a: DeployedCluster, timeoutMs: number): Promise<void> {
    await run(process.execPath, [path.join(repoRoot, 'bin', 'plexus.ts'), 'agent', 'dns', 'patch-coredns',
      '--kubeconfig', a.cluster.kubeconfigPath, '--upstream', a.dnsServiceIp],
    { env: { ...process.env, KUBERNETES_SERVICE_HOST: '' }, timeout: timeoutMs }).catch((e: Error & { stderr?: string }) => {
      throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `patch-coredns in ${a.name}: ${(e.stderr || e.message).trim()}`, { cause: e });
    });
    // CoreDNS's `reload` sees the new Corefile only once the kubelet refreshes the ConfigMap
    // volume, on the pod's next sync (up to a minute); a changed annotation syncs it now.
    await kubectlOk(a.cluster, ['-n', 'kube-system', 'annotate', 'pods', '-l', 'k8s-app=kube-dns', '--overwrite', `plexus.io/corefile-patched=${Date.now()}`]);
    await waitFor(async () => ((await digFromNode(a, a.clusterDnsIp, 'dns-version.clusterset.local', 'TXT')).includes('"1.0.0"') ? true : undefined),
      { what: `CoreDNS in ${a.name} answering clusterset.local`, timeoutMs, intervalMs: 250 });
  }
}

/** `dig +short` from the cluster's node network namespace (what a host-network pod would see). */
export async function digFromNode(a: DeployedCluster, server: string, name: string, type = 'A'): Promise<string[]> {
  const { stdout } = await run('nsenter', [`--net=/run/netns/${a.cluster.node!.netns}`, '--', 'dig', '+short', '+time=1', '+tries=1', `@${server}`, name, type],
    { timeout: 5000 });
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The PV the lab's missing provisioner would make: hostPath below the set dir, bound to the broker's PVC only. */
function brokerVolume(dir: string): string {
  return `apiVersion: v1
kind: PersistentVolume
metadata: { name: plexus-broker-data, labels: { app.kubernetes.io/part-of: plexus } }
spec:
  capacity: { storage: 2Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: { namespace: plexus-broker, name: plexus-broker-data }
  hostPath: { path: ${JSON.stringify(dir)}, type: Directory }
`;
}

/** Waits until the Deployment's newest generation has a Ready pod; fails fast on an image or crash loop. */
async function waitReady(c: Cluster, namespace: string, name: string, timeoutMs: number): Promise<void> {
  let fatal: Error | undefined;
  await waitFor(async () => {
    const out = await kubectlOk(c, ['-n', namespace, 'get', 'deploy', name, '-o',
      'jsonpath={.metadata.generation} {.status.observedGeneration} {.status.updatedReplicas} {.status.readyReplicas}']);
    const [gen, observed, updated, ready] = out.trim().split(' ');
    if (gen === observed && updated === '1' && ready === '1') return true;
    const waiting = await kubectlOk(c, ['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/name=${name}`, '-o',
      'jsonpath={range .items[*].status.initContainerStatuses[*]}{.state.waiting.reason} {end}{range .items[*].status.containerStatuses[*]}{.state.waiting.reason} {end}']);
    const bad = waiting.split(' ').find((r) => ['ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError'].includes(r));
    if (bad) fatal = new HarnessError('PLX_HARNESS_START_FAILED', `${name} in ${c.name}: ${bad}`);
    return undefined;
  }, { what: `${namespace}/${name} Ready in ${c.name}`, timeoutMs, intervalMs: 500, failFast: () => fatal });
}

/**
 * Deploys Plexus into a real-node set: broker in one cluster, an agent in each (see the file
 * header). On failure the diagnostics go to `<set logs>/plexus-deploy.log` and the error
 * names that file; the set's stop() removes everything deployed.
 */
export async function deployPlexus(set: ClusterSet, o: DeployOptions = {}): Promise<PlexusDeployment> {
  const lab = set.lab;
  if (!lab) throw new HarnessError('PLX_HARNESS_BAD_OPTION', 'deployPlexus needs real nodes: startClusters(n, { nodes: true })');
  const timeoutMs = o.timeoutMs ?? 300_000;
  let t = performance.now();
  const lap = (): number => { const now = performance.now(); const d = now - t; t = now; return Math.round(d); };
  const image = o.image ?? await plexusImage();
  await Promise.all(lab.nodes.map((n) => n.importImages([image.tar])));
  const d = new PlexusDeployment(set, image, o);
  d.timings.image = lap();
  try {
    await d.deployBroker(o, timeoutMs);
    d.timings.broker = lap();
    const tokens: string[] = [];
    for (const a of d.agents) tokens.push(await d.createToken(a.clusterId));
    await Promise.all(d.agents.map((a, i) => d.deployAgent(a, tokens[i]!, o, timeoutMs)));
    d.timings.agents = lap();
    if (o.patchCoreDns ?? true) await Promise.all(d.agents.map((a) => d.patchCoreDns(a, timeoutMs)));
    d.timings.coreDns = lap();
    return d;
  } catch (err) {
    const file = await d.saveLogs().catch(() => 'unsaved');
    const msg = `deploying Plexus failed: ${(err as Error).message} (diagnostics: ${file})`;
    throw new HarnessError(err instanceof HarnessError ? err.code : 'PLX_HARNESS_START_FAILED', msg, { cause: err });
  }
}
