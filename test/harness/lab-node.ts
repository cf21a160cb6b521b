// One real node of a lab cluster, inside the cluster's network namespace: containerd
// (runc, the CNI bridge), the kubelet and kube-proxy, plus the cluster's
// kube-controller-manager and kube-scheduler. Each runs as a Component (watchdog.sh), so
// none outlives the harness; the containers and shims that containerd leaves behind are
// lab-host.sh's to kill (they name this node's dir or sit in its cgroup root).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { NodeBinaries } from './binaries.ts';
import { issueClientCredentials } from './cluster-pki.ts';
import type { ClusterPki } from './cluster-pki.ts';
import { Component } from './component.ts';
import { HarnessError } from './errors.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import type { LabHost } from './lab-host.ts';
import type { NodeAddressing } from './lab-network.ts';
import { cniConflist, containerdToml, kubeletYaml, kubeProxyYaml, nodePaths } from './node-config.ts';
import type { NodeConfigInput } from './node-config.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** The images every node gets (docker-archive tars from scripts/real-nodes.sh). */
export interface LabImages {
  readonly dir: string;
  readonly pause: string;              // image refs
  readonly coredns: string;
  readonly tools: string;
  readonly tars: readonly string[];
}

export interface LabNodeOptions {
  readonly clusterName: string;
  readonly nodeName: string;
  readonly dir: string;
  readonly logsDir: string;
  readonly runDir: string;
  readonly addressing: NodeAddressing;
  readonly serviceCidr: string;
  readonly clusterDns: string;
  readonly apiServerUrl: string;
  readonly pki: ClusterPki;
  readonly bins: NodeBinaries;
  readonly images: LabImages;
  readonly host: LabHost;
  readonly lifetimeSeconds: number;
  readonly startTimeoutMs: number;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CNI_BIN_DIR = '/usr/lib/cni';

/** Every cgroup v1 hierarchy (or the v2 root) the kubelet will create pod cgroups in. */
function cgroupHierarchies(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join('/sys/fs/cgroup', d.name, 'cgroup.procs')))
    .map((d) => path.join('/sys/fs/cgroup', d.name));
}

/** The kubelet refuses a cgroupRoot that does not exist; a new v1 cpuset starts empty. */
function createCgroupRoot(root: string): void {
  for (const h of cgroupHierarchies()) {
    const dir = path.join(h, root);
    mkdirSync(dir, { recursive: true });
    if (path.basename(h) === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(path.join(dir, f), readFileSync(path.join(h, f)));
    }
  }
}

export class LabNode {
  readonly options: LabNodeOptions;
  readonly containerd: Component;
  readonly controllerManager: Component;
  readonly scheduler: Component;
  readonly kubelet: Component;
  readonly kubeProxy: Component;
  readonly #config: NodeConfigInput;
  /** performance.now() when the kubelet was started and when the Node was first seen Ready (benchmarks). */
  kubeletStartedAt: number | undefined;
  readyAt: number | undefined;

  constructor(o: LabNodeOptions) {
    this.options = o;
    const netns = o.addressing.netns;
    this.#config = {
      nodeName: o.nodeName, dir: o.dir, nodeIp: o.addressing.nodeIp, podCidr: o.addressing.podCidr,
      podGateway: o.addressing.podGateway, serviceCidr: o.serviceCidr, clusterDns: o.clusterDns,
      cgroupRoot: `/${netns}`, cniNetwork: `${netns}-pods`, sandboxImage: o.images.pause, cniBinDir: CNI_BIN_DIR,
    };
    const p = nodePaths(o.dir);
    const kc = (who: string): string => path.join(o.dir, `${who}.kubeconfig`);
    const component = (name: string, command: string, args: string[]): Component => new Component({
      name: `${name}-${o.clusterName}`, command, args, netns, env: { ...process.env, PATH },
      logFile: path.join(o.logsDir, `${name}-${o.clusterName}.log`),
      pidFile: path.join(o.runDir, `${name}-${o.clusterName}.pid`),
    });
    this.containerd = component('containerd', 'containerd', ['--config', p.containerdConfig]);
    this.controllerManager = component('kube-controller-manager', o.bins.kubeControllerManager, [
      `--kubeconfig=${kc('controller-manager')}`, `--authentication-kubeconfig=${kc('controller-manager')}`,
      `--authorization-kubeconfig=${kc('controller-manager')}`, `--service-account-private-key-file=${o.pki.files.serviceAccountKey}`,
      `--root-ca-file=${o.pki.files.caCert}`, `--cluster-name=${o.clusterName}`, '--leader-elect=false',
      '--bind-address=127.0.0.1', `--service-cluster-ip-range=${o.serviceCidr}`, '--use-service-account-credentials=true',
    ]);
    this.scheduler = component('kube-scheduler', o.bins.kubeScheduler, [
      `--kubeconfig=${kc('scheduler')}`, `--authentication-kubeconfig=${kc('scheduler')}`,
      `--authorization-kubeconfig=${kc('scheduler')}`, '--leader-elect=false', '--bind-address=127.0.0.1',
    ]);
    this.kubelet = component('kubelet', o.bins.kubelet, [
      `--config=${p.kubeletConfig}`, `--kubeconfig=${kc('kubelet')}`, `--root-dir=${p.kubeletRoot}`,
      `--cert-dir=${p.kubeletCertDir}`, `--hostname-override=${o.nodeName}`, `--node-ip=${o.addressing.nodeIp}`,
    ]);
    this.kubeProxy = component('kube-proxy', o.bins.kubeProxy, [`--config=${p.kubeProxyConfig}`]);
  }

  /** In stop order: what uses the runtime first, containerd last. */
  components(): Component[] {
    return [this.kubeProxy, this.kubelet, this.scheduler, this.controllerManager, this.containerd];
  }

  async #writeFiles(): Promise<void> {
    const o = this.options;
    const p = nodePaths(o.dir);
    for (const d of [o.dir, p.cniConfDir, path.dirname(p.containerdSocket), p.kubeletRoot, p.kubeletCertDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const identities: Record<string, { commonName: string; organizations?: string[] }> = {
      kubelet: { commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'] },
      'kube-proxy': { commonName: 'system:kube-proxy' },
      'controller-manager': { commonName: 'system:kube-controller-manager' },
      scheduler: { commonName: 'system:kube-scheduler' },
    };
    await Promise.all(Object.entries(identities).map(async ([who, id]) => {
      const creds = await issueClientCredentials(o.pki.ca, { ...id, now: new Date(), lifetimeSeconds: o.lifetimeSeconds });
      writeFileSync(path.join(o.dir, `${who}.kubeconfig`),
        renderKubeconfig({ name: o.clusterName, server: o.apiServerUrl, caPem: o.pki.caPem, ...creds }), { mode: 0o600 });
    }));
    writeFileSync(p.containerdConfig, containerdToml(this.#config));
    writeFileSync(path.join(p.cniConfDir, '10-lab.conflist'), cniConflist(this.#config));
    writeFileSync(p.kubeletConfig, kubeletYaml(this.#config, o.pki.files.caCert));
    writeFileSync(p.kubeProxyConfig, kubeProxyYaml(this.#config, path.join(o.dir, 'kube-proxy.kubeconfig')));
    writeFileSync(p.resolvConf, '# no upstream resolver is reachable from the lab\noptions ndots:5\n');
  }

  async #ctr(args: string[]): Promise<string> {
    const { stdout } = await run('ctr', ['--address', nodePaths(this.options.dir).containerdSocket, '--namespace', 'k8s.io', ...args],
      { env: { ...process.env, PATH }, timeout: 120_000 });
    return stdout;
  }

  async #startContainerd(): Promise<void> {
    this.containerd.start();
    await waitFor(async () => ((await this.#ctr(['version'])) ? true : undefined), {
      what: `${this.containerd.name} to answer`, timeoutMs: this.options.startTimeoutMs,
      failFast: () => this.containerd.notRunningError(),
    });
    // Sequential: two imports unpacking at once contend for the same two cores.
    for (const tar of this.options.images.tars) await this.#ctr(['images', 'import', tar]);
  }

  /** Imports more docker-archive tars into this node's containerd (e.g. the Plexus image, test/harness/plexus-deploy.ts). */
  async importImages(tars: readonly string[]): Promise<void> {
    for (const tar of tars) await this.#ctr(['images', 'import', tar]);
  }

  /** Starts every component and resolves once the Node is Ready. */
  async start(kubeConfig: KubeConfig): Promise<void> {
    const o = this.options;
    await this.#writeFiles();
    o.host.record('cgroup', this.#config.cgroupRoot);
    createCgroupRoot(this.#config.cgroupRoot);
    this.controllerManager.start();
    this.scheduler.start();
    await this.#startContainerd();
    this.kubeletStartedAt = performance.now();
    this.kubelet.start();
    this.kubeProxy.start();
    await this.waitReady(kubeConfig);
    this.readyAt = performance.now();
  }

  /** Resident memory of this node's pods (containers and their pause processes), from the cgroup root. */
  podMemoryBytes(): number | undefined {
    try {
      const stat = readFileSync(path.join('/sys/fs/cgroup/memory', this.#config.cgroupRoot, 'memory.stat'), 'utf8');
      const m = /^total_rss (\d+)$/m.exec(stat);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  async waitReady(kubeConfig: KubeConfig): Promise<void> {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitFor(async () => {
      const node = await core.readNode({ name: this.options.nodeName });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, {
      what: `node ${this.options.nodeName} Ready`, timeoutMs: this.options.startTimeoutMs, intervalMs: 250,
      failFast: () => this.components().map((c) => (c.running ? undefined : c.notRunningError())).find((e) => e !== undefined),
    });
  }

  /** SIGTERM to everything that uses containerd at once, then containerd; what they leave, lab-host.sh kills. */
  async stop(): Promise<void> {
    await Promise.all([this.kubeProxy, this.kubelet, this.scheduler, this.controllerManager].map((c) => c.stop(10_000)));
    await this.containerd.stop(10_000);
  }

  killNow(): void {
    for (const c of this.components()) c.killNow();
  }
}

/** The images of scripts/real-nodes.sh, or PLX_HARNESS_BINARIES_MISSING naming it. */
export function resolveLabImages(cacheRoot: string, versions: Record<string, string>): LabImages {
  const dir = path.join(cacheRoot, 'images');
  const pause = `plexus.local/pause:${versions.LAB_PAUSE_TAG}`;
  const coredns = `plexus.local/coredns:${versions.COREDNS_VERSION}`;
  const tools = `plexus.local/lab-tools:${versions.LAB_TOOLS_TAG}`;
  const tars = [
    path.join(dir, `pause-${versions.LAB_PAUSE_TAG}.tar`),
    path.join(dir, `coredns-${versions.COREDNS_VERSION}.tar`),
    path.join(dir, `lab-tools-${versions.LAB_TOOLS_TAG}.tar`),
  ];
  const missing = tars.filter((t) => !existsSync(t));
  if (missing.length) {
    throw new HarnessError('PLX_HARNESS_BINARIES_MISSING',
      `lab images missing: ${missing.map((t) => path.basename(t)).join(', ')} (looked in ${dir}); run \`npm run nodes:install\``);
  }
  return { dir, pause, coredns, tools, tars };
}
