// startClusters(n): N independent Kubernetes control planes on loopback for tests. One
// etcd per call (a distinct --etcd-prefix per cluster), one kube-apiserver per cluster,
// the project's CRDs installed and Established before it resolves.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { isClusterId } from '../../broker/api/names.ts';
import { ApiServer } from './api-server.ts';
import { resolveBinaries, resolveNodeBinaries } from './binaries.ts';
import type { Binaries } from './binaries.ts';
import { Cluster } from './cluster.ts';
import { createClusterPki, issueClientCredentials } from './cluster-pki.ts';
import type { ClusterPki } from './cluster-pki.ts';
import { ClusterSet } from './cluster-set.ts';
import type { Component } from './component.ts';
import { startEtcd } from './etcd.ts';
import type { Etcd } from './etcd.ts';
import { HarnessError } from './errors.ts';
import { onProcessExit } from './exit-guard.ts';
import { freePorts } from './free-ports.ts';
import { installCrds, readCrds } from './install-crds.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { planAddresses } from './lab-network.ts';
import { NodeLab } from './node-lab.ts';
import type { NodeLabOptions } from './node-lab.ts';
import { Reaper } from './reaper.ts';

export interface StartOptions {
  /** Cluster names (RFC-1123 labels); default cluster-1 … cluster-N. */
  readonly names?: readonly string[];
  /** One CIDR for all clusters, or one per cluster; default 10.96.0.0/16. `<IPv4 CIDR>,<IPv6 CIDR>` makes a dual-stack cluster. */
  readonly serviceCidrs?: string | readonly string[];
  /** Directory of CRD YAML to install; default crds/. Set installCrds: false to skip. */
  readonly crdDir?: string;
  readonly installCrds?: boolean;
  /** Per-component readiness timeout; default 120 s (two cores, several apiservers). */
  readonly startTimeoutMs?: number;
  /** Extra kube-apiserver flags for every cluster. */
  readonly apiServerArgs?: readonly string[];
  /** Parent of the set's temp dir; default os.tmpdir(). */
  readonly tmpDir?: string;
  /** If starting fails, copy the component logs here before cleaning up. */
  readonly logsOnFailure?: string;
  readonly certLifetimeSeconds?: number;   // default 7 days
  /**
   * Real nodes: each cluster in its own network namespace with kube-controller-manager,
   * kube-scheduler, containerd, a kubelet, kube-proxy and CoreDNS (needs root and
   * `npm run nodes:install`). The kube-apiservers then listen on their node's address.
   */
  readonly nodes?: boolean | NodeLabOptions;
}


interface Plan {
  readonly names: string[];
  readonly cidrs: string[];
  readonly crds: V1CustomResourceDefinition[];
  readonly timeoutMs: number;
  readonly lifetime: number;
}

/**
 * The first address of the (primary, IPv4) service CIDR: the ClusterIP of the "kubernetes"
 * Service. A dual-stack `<IPv4>,<IPv6>` pair needs an IPv6 CIDR of /108 or longer (the
 * API server's limit on service ranges).
 */
export function firstServiceIp(cidrs: string): string {
  const [cidr = '', v6, ...more] = cidrs.split(',');
  const v6ok = v6 === undefined || /^[0-9a-f:]+\/(10[89]|11\d|12[0-6])$/i.test(v6);
  if (!v6ok || more.length > 0) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `service CIDRs ${cidrs} are not "<IPv4 CIDR>[,<IPv6 CIDR /108–/126>]"`);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m ? Number(m[5]) : -1;
  if (octets.length !== 4 || octets.some((o) => o > 255) || bits < 8 || bits > 30) {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `service CIDR ${cidr} is not an IPv4 CIDR with a /8–/30 prefix`);
  }
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const network = base - (base % 2 ** (32 - bits));
  const ip = network + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.');
}

function plan(n: number, o: StartOptions): Plan {
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `cluster count must be an integer in 1..16, got ${n}`);
  }
  const names = o.names ? [...o.names] : Array.from({ length: n }, (_, i) => `cluster-${i + 1}`);
  if (names.length !== n || new Set(names).size !== n || !names.every(isClusterId)) {
    throw new HarnessError('PLX_HARNESS_BAD_OPTION', `names must be ${n} distinct RFC-1123 labels, got ${names.join(',')}`);
  }
  const given = o.serviceCidrs ?? '10.96.0.0/16';
  const cidrs = typeof given === 'string' ? names.map(() => given) : [...given];
  if (cidrs.length !== n) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `expected ${n} service CIDRs, got ${cidrs.length}`);
  cidrs.forEach(firstServiceIp);
  if (typeof o.nodes === 'object') planAddresses(0, n, o.nodes.podNetworks);
  const crds = o.installCrds === false ? [] : readCrds(o.crdDir);
  return { names, cidrs, crds, timeoutMs: o.startTimeoutMs ?? 120_000, lifetime: o.certLifetimeSeconds ?? 7 * 86_400 };
}

/** What has been started so far, so that a failure can stop exactly that. */
interface Started {
  readonly dir: string;
  readonly logsDir: string;
  readonly runDir: string;
  readonly reaper: Reaper;
  etcd?: Etcd;
  etcdPorts: number[];
  readonly apiServers: ApiServer[];
  lab?: NodeLab;
}

function components(s: Started): Component[] {
  return [...(s.lab?.components() ?? []), ...(s.etcd ? [s.etcd.component] : []), ...s.apiServers.map((a) => a.component)];
}

function buildCluster(p: Plan, bins: Binaries, s: Started, i: number, port: number, pki: ClusterPki, extraArgs: readonly string[]): Cluster {
  const name = p.names[i]!;
  const clusterDir = path.join(s.dir, 'clusters', name);
  const etcdPrefix = `/plexus-harness/${name}`;
  const node = s.lab?.node(i);
  const kubeletClient = node
    ? { cert: path.join(clusterDir, 'apiserver-kubelet-client.crt'), key: path.join(clusterDir, 'apiserver-kubelet-client.key') }
    : undefined;
  const api = new ApiServer({
    clusterName: name, binary: bins.kubeApiServer, port: node ? 6443 : port, etcdEndpoint: s.etcd!.endpoint, etcdPrefix,
    serviceCidr: p.cidrs[i]!, certDir: clusterDir, files: pki.files, logsDir: s.logsDir, runDir: s.runDir,
    startTimeoutMs: p.timeoutMs, extraArgs, kubeletClient, probe: { caPem: pki.caPem, ...pki.admin },
    host: node?.nodeIp, netns: node?.netns,
  });
  s.apiServers.push(api);
  const kubeconfigPath = path.join(clusterDir, 'kubeconfig');
  const kubeConfig = writeKubeconfig(kubeconfigPath, { name, server: api.url, caPem: pki.caPem, ...pki.admin });
  return new Cluster({
    name, kubeconfigPath, kubeConfig, serviceCidr: p.cidrs[i]!, etcdPrefix, apiServer: api, pki,
    kubectlBinary: bins.kubectl, kubectlCacheDir: path.join(s.dir, 'kubectl-cache'), certLifetimeSeconds: p.lifetime,
    node: s.lab?.info(i, name),
  });
}

/** Waits for every promise, then throws the first failure: nothing keeps running unobserved. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

async function startAll(p: Plan, bins: Binaries, s: Started, extraArgs: readonly string[]): Promise<Cluster[]> {
  const ports = await freePorts(p.names.length + 2);
  s.etcdPorts = ports.slice(0, 2);
  const now = new Date();
  const pkiWork = settleAll(p.names.map((name, i) => {
    const dir = path.join(s.dir, 'clusters', name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const nodeIp = s.lab?.node(i).nodeIp;
    return createClusterPki({
      clusterName: name, dir, serviceIp: firstServiceIp(p.cidrs[i]!), now, lifetimeSeconds: p.lifetime, extraIps: nodeIp ? [nodeIp] : [],
    }).then(async (pki) => {
      if (nodeIp) await writeKubeletClient(pki, dir, now, p.lifetime);
      return pki;
    });
  }));
  const etcdWork = startEtcd({
    binary: bins.etcd, dataDir: path.join(s.dir, 'etcd'), logsDir: s.logsDir, runDir: s.runDir,
    clientPort: ports[0]!, peerPort: ports[1]!, startTimeoutMs: p.timeoutMs, host: s.lab?.addressing.hostIp,
  }).then((etcd) => { s.etcd = etcd; });
  const [pkis] = await settleAll<unknown>([pkiWork, etcdWork]) as [ClusterPki[], void];
  const clusters = pkis.map((pki, i) => buildCluster(p, bins, s, i, ports[i + 2]!, pki, extraArgs));
  await settleAll(clusters.map(async (cluster, i) => {
    await s.apiServers[i]!.start();
    if (p.crds.length) await installCrds(cluster.kubeConfig, { crds: p.crds, timeoutMs: p.timeoutMs });
  }));
  await s.lab?.startNodes(clusters, pkis, s, { timeoutMs: p.timeoutMs, lifetimeSeconds: p.lifetime });
  return clusters;
}

/** The client certificate kube-apiserver presents to the kubelet (exec, logs, port-forward). */
async function writeKubeletClient(pki: ClusterPki, dir: string, now: Date, lifetimeSeconds: number): Promise<void> {
  const creds = await issueClientCredentials(pki.ca, {
    commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], now, lifetimeSeconds,
  });
  writeFileSync(path.join(dir, 'apiserver-kubelet-client.crt'), creds.certPem);
  writeFileSync(path.join(dir, 'apiserver-kubelet-client.key'), creds.keyPem, { mode: 0o600 });
}

function removeDir(s: Started): void {
  s.reaper.dismiss();
  s.lab?.release();                   // unmounts below the dir before it is removed
  rmSync(s.dir, { recursive: true, force: true, maxRetries: 3 });
}

async function abandon(s: Started, logsOnFailure: string | undefined): Promise<void> {
  await s.lab?.stopNodes();
  // kube-apiservers first: they flush to etcd while shutting down.
  await Promise.all(s.apiServers.map((a) => a.stop()));
  await s.etcd?.component.stop();
  if (logsOnFailure) {
    mkdirSync(logsOnFailure, { recursive: true });
    cpSync(s.logsDir, logsOnFailure, { recursive: true });
  }
  removeDir(s);
  await s.reaper.exited();
}

/** Starts N control planes; on failure stops whatever started and rethrows (logs kept if asked). */
export async function startClusters(n: number, o: StartOptions = {}): Promise<ClusterSet> {
  const p = plan(n, o);
  const nodeBins = o.nodes ? resolveNodeBinaries() : undefined;
  const bins = nodeBins ?? resolveBinaries();
  const dir = mkdtempSync(path.join(o.tmpDir ?? os.tmpdir(), 'plexus-harness-'));
  const s: Started = {
    dir, logsDir: path.join(dir, 'logs'), runDir: path.join(dir, 'run'), reaper: new Reaper(dir, 5, nodeBins !== undefined),
    etcdPorts: [], apiServers: [],
  };
  mkdirSync(s.logsDir);
  mkdirSync(s.runDir);
  const unregister = onProcessExit(() => {
    for (const c of components(s)) c.killNow();
    removeDir(s);
  });
  try {
    if (nodeBins) s.lab = NodeLab.create(dir, n, nodeBins, typeof o.nodes === 'object' ? o.nodes : {});
    const clusters = await startAll(p, bins, s, o.apiServerArgs ?? []);
    return new ClusterSet({
      dir, logsDir: s.logsDir, etcd: s.etcd!.component, etcdEndpoint: s.etcd!.endpoint, etcdPorts: s.etcdPorts,
      clusters, apiServers: s.apiServers.map((a) => a.component), reaper: s.reaper, unregisterExitHook: unregister, lab: s.lab,
    });
  } catch (err) {
    await abandon(s, o.logsOnFailure);
    unregister();
    if (err instanceof HarnessError) throw err;
    throw new HarnessError('PLX_HARNESS_START_FAILED', `starting ${n} cluster(s) failed: ${(err as Error).message}`, { cause: err });
  }
}
