// The handle a test holds for one cluster: its address, admin kubeconfig, typed API
// clients, the real kubectl, and control over its kube-apiserver (stop, start, restart).
import { spawn } from 'node:child_process';
import { KubeConfig, type ApiConstructor, type ApiType } from '@kubernetes/client-node';
import type { ApiServer } from './api-server.ts';
import { HarnessError } from './errors.ts';
import { issueClientCredentials } from './cluster-pki.ts';
import type { ClientCredentials, ClusterPki } from './cluster-pki.ts';
import type { NodeInfo } from './node-lab.ts';

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface KubectlOptions {
  readonly input?: string;            // written to kubectl's stdin (e.g. for `apply -f -`)
  readonly timeoutMs?: number;        // default 60 s; the process is killed after it
}

export interface ClusterParts {
  readonly name: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly serviceCidr: string;
  readonly etcdPrefix: string;
  readonly apiServer: ApiServer;
  readonly pki: ClusterPki;
  readonly kubectlBinary: string;
  readonly kubectlCacheDir: string;
  readonly certLifetimeSeconds: number;
  readonly node?: NodeInfo;
}

export class Cluster {
  readonly name: string;
  /** https://127.0.0.1:<port> (https://<node IP>:6443 with real nodes); stable across restarts of the kube-apiserver. */
  readonly server: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly serviceCidr: string;
  readonly etcdPrefix: string;
  /** PEM of the cluster CA (trust anchor for the serving certificate, client CA). */
  readonly caPem: string;
  /** The cluster's real node (startClusters with `nodes`); undefined for API-server-only clusters. */
  readonly node: NodeInfo | undefined;
  readonly #parts: ClusterParts;

  constructor(parts: ClusterParts) {
    this.#parts = parts;
    this.name = parts.name;
    this.server = parts.apiServer.url;
    this.port = parts.apiServer.options.port;
    this.kubeconfigPath = parts.kubeconfigPath;
    this.kubeConfig = parts.kubeConfig;
    this.serviceCidr = parts.serviceCidr;
    this.etcdPrefix = parts.etcdPrefix;
    this.caPem = parts.pki.caPem;
    this.node = parts.node;
  }

  /** A typed client authenticated as the cluster admin, e.g. `client(CoreV1Api)`. */
  client<T extends ApiType>(api: ApiConstructor<T>): T {
    return this.kubeConfig.makeApiClient(api);
  }

  /** Runs the cached kubectl of the pinned release against this cluster; never throws on a non-zero exit. */
  kubectl(args: readonly string[], o: KubectlOptions = {}): Promise<KubectlResult> {
    const argv = ['--kubeconfig', this.kubeconfigPath, '--cache-dir', this.#parts.kubectlCacheDir, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(this.#parts.kubectlBinary, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(kubectl killed by ${signal})` : ''),
          code: code ?? 128,
        });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(o.input ?? '');
    });
  }

  /** Client credentials signed by this cluster's CA, for tests that act as another user. */
  issueClientCredentials(o: { commonName: string; organizations?: string[] }): Promise<ClientCredentials> {
    return issueClientCredentials(this.#parts.pki.ca, { ...o, now: new Date(), lifetimeSeconds: this.#parts.certLifetimeSeconds });
  }

  /** A KubeConfig holding a token of ServiceAccount `namespace/name` (`kubectl create token`), for tests that prove what its RBAC allows. */
  async serviceAccountKubeConfig(namespace: string, name: string): Promise<KubeConfig> {
    const r = await this.kubectl(['create', 'token', name, '-n', namespace, '--duration', '1h']);
    if (r.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `kubectl create token ${name} -n ${namespace}: ${r.stderr.trim()}`);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: this.name, server: this.server, caData: Buffer.from(this.caPem).toString('base64') }],
      users: [{ name: `${namespace}:${name}`, token: r.stdout.trim() }],
      contexts: [{ name: this.name, cluster: this.name, user: `${namespace}:${name}` }],
      currentContext: this.name,
    });
    return kc;
  }

  get apiServerRunning(): boolean { return this.#parts.apiServer.running; }

  /** Stops the kube-apiserver; etcd and this cluster's data stay. */
  stopApiServer(): Promise<void> { return this.#parts.apiServer.stop(); }

  /** Starts the kube-apiserver again on the same port and etcd prefix; resolves when ready. */
  startApiServer(): Promise<void> { return this.#parts.apiServer.start(); }

  async restartApiServer(): Promise<void> { await this.#parts.apiServer.restart(); }

  /** Stops this cluster's kube-apiserver. Files and etcd data go when the set stops. */
  stop(): Promise<void> { return this.stopApiServer(); }
}
