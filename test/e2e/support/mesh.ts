// The e2e driver: N real control planes (harness), a real broker process and one real
// `plexus agent run` process per cluster, enrolled through the real CLI. Processes can be
// stopped, SIGKILLed and restarted to inject faults; every helper polls on a condition.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { plexus } from '../../support/plexus-process.ts';
import { startClusters, type ClusterSet } from '../../harness/index.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { freePorts } from '../../harness/free-ports.ts';
import { waitFor } from '../../harness/wait-for.ts';

const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const bin = path.join(repo, 'bin', 'plexus.ts');

export interface MeshOptions {
  clusters: number;
  /** Broker lease duration, e.g. "3s"; short so lease-expiry tests finish quickly. */
  leaseDuration?: string;
  /** Extra `plexus agent run` flags per cluster (e.g. --zone, --region). */
  agentArgs?: (cluster: string) => string[];
  /** Extra `plexus broker start` flags (e.g. --cluster-cert-lifetime 20s). */
  brokerArgs?: string[];
  /** Real nodes (`startClusters(n, { nodes: true })`): pods run; agents stay host processes reaching each API server at its node's address. */
  nodes?: boolean;
  /** How long the broker may take to write broker.json (default 30 s); benchmarks on a busy machine need more. */
  brokerStartTimeoutMs?: number;
}


export class Mesh {
  readonly set: ClusterSet;
  readonly dir: string;
  readonly brokerDir: string;
  brokerUrl = '';
  #broker: ChildProcess | undefined;
  readonly #agents = new Map<string, ChildProcess>();
  readonly #leaseDuration: string;
  /** Each agent's DNS port, fixed for the mesh's life so restarts keep it. */
  readonly #dnsPorts = new Map<string, number>();
  #agentArgs: (cluster: string) => string[] = () => [];
  #brokerArgs: string[] = [];
  #brokerStartTimeoutMs = 30_000;

  private constructor(set: ClusterSet, dir: string, leaseDuration: string) {
    this.set = set;
    this.dir = dir;
    this.brokerDir = path.join(dir, 'broker');
    this.#leaseDuration = leaseDuration;
  }

  static async start(o: MeshOptions): Promise<Mesh> {
    const set = await startClusters(o.clusters, o.nodes ? { nodes: true } : {});
    const mesh = new Mesh(set, mkdtempSync(path.join(os.tmpdir(), 'plexus-e2e-')), o.leaseDuration ?? '3s');
    if (o.agentArgs) mesh.#agentArgs = o.agentArgs;
    if (o.brokerArgs) mesh.#brokerArgs = o.brokerArgs;
    if (o.brokerStartTimeoutMs) mesh.#brokerStartTimeoutMs = o.brokerStartTimeoutMs;
    try {
      await plexus(['broker', 'init', '--data-dir', mesh.brokerDir, '--clusterset', 'e2e.plexus.local']);
      await mesh.startBroker('127.0.0.1:0');
      const ports = await freePorts(set.clusters.length);
      set.clusters.forEach((c, i) => mesh.#dnsPorts.set(c.name, ports[i]!));
      // Each agent starts as soon as its cluster has joined, as in a deployment: with short
      // certificate lifetimes (rotation: 20 s) and every `plexus` call taking seconds on a
      // loaded machine, starting them only after the last join let the first certificate
      // expire before its agent ran.
      for (const c of set.clusters) {
        await mesh.enroll(c);
        mesh.startAgent(c.name);
      }
      return mesh;
    } catch (err) {
      await mesh.stop();
      throw err;
    }
  }

  get clusters(): readonly Cluster[] { return this.set.clusters; }
  cluster(which: string | number): Cluster { return this.set.cluster(which); }

  #log(name: string): number {
    return openSync(path.join(this.dir, `${name}.log`), 'a');
  }

  async startBroker(listen = new URL(this.brokerUrl).host): Promise<void> {
    const runtime = path.join(this.brokerDir, 'broker.json');
    rmSync(runtime, { force: true });
    const fd = this.#log('broker');
    this.#broker = spawn(process.execPath, [bin, 'broker', 'start', '--data-dir', this.brokerDir, '--listen', listen,
      '--lease-duration', this.#leaseDuration, '--log-level', 'info', ...this.#brokerArgs], { cwd: repo, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const proc = this.#broker;
    await waitFor(async () => (existsSync(runtime) ? true : undefined), {
      what: 'broker.json', timeoutMs: this.#brokerStartTimeoutMs, failFast: () => (proc.exitCode !== null ? new Error(`broker exited ${proc.exitCode}; see ${this.dir}/broker.log`) : undefined),
    });
    this.brokerUrl = (JSON.parse(readFileSync(runtime, 'utf8')) as { url: string }).url;
  }

  async stopBroker(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const b = this.#broker;
    if (!b || b.exitCode !== null || b.signalCode !== null) return;
    b.kill(signal);
    await once(b, 'exit');
  }

  async enroll(c: Cluster): Promise<void> {
    await c.client(CoreV1Api).createNamespace({ body: { metadata: { name: 'plexus-system' } } });
    const t = JSON.parse(await plexus(['broker', 'token', 'create', '--data-dir', this.brokerDir, '--cluster', c.name, '--output', 'json'])) as { token: string; caFingerprint: string };
    await plexus(['agent', 'join', '--broker', this.brokerUrl, '--token', t.token, '--cluster-id', c.name, '--ca-fingerprint', t.caFingerprint, '--kubeconfig', c.kubeconfigPath]);
  }

  startAgent(name: string): void {
    const c = this.cluster(name);
    const fd = this.#log(`agent-${name}`);
    const dns = this.#dnsPorts.has(name) ? ['--dns-listen', `127.0.0.1:${this.#dnsPorts.get(name)}`] : [];
    const p = spawn(process.execPath, [bin, 'agent', 'run', '--kubeconfig', c.kubeconfigPath, '--log-level', process.env.PLEXUS_E2E_LOG_LEVEL ?? 'debug', ...dns, ...this.#agentArgs(name)], { cwd: repo, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.#agents.set(name, p);
  }

  async stopAgent(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.#agents.get(name);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(signal);
    await once(p, 'exit');
  }

  /** Where the agent of cluster `name` serves clusterset.local (UDP and TCP). */
  dnsAddress(name: string): { host: string; port: number } {
    const port = this.#dnsPorts.get(name);
    if (port === undefined) throw new Error(`no DNS port for ${name}`);
    return { host: '127.0.0.1', port };
  }

  /** Sends a signal without waiting for an exit: SIGSTOP freezes an agent (a cut-off peer), SIGCONT thaws it. */
  signalAgent(name: string, signal: NodeJS.Signals): void {
    this.#agents.get(name)?.kill(signal);
  }

  /** Process ids, for benchmarks that read /proc (bench:footprint). */
  get brokerPid(): number | undefined { return this.#broker?.pid; }
  agentPid(name: string): number | undefined { return this.#agents.get(name)?.pid; }

  agentRunning(name: string): boolean {
    const p = this.#agents.get(name);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Every process and cluster stops; logs are copied to `saveLogsTo` first if given. */
  async stop(o: { saveLogsTo?: string } = {}): Promise<void> {
    await Promise.allSettled([...this.#agents.keys()].map((n) => this.stopAgent(n, 'SIGKILL')));
    await this.stopBroker('SIGKILL');
    if (o.saveLogsTo) {
      const { cpSync, mkdirSync } = await import('node:fs');
      mkdirSync(o.saveLogsTo, { recursive: true });
      cpSync(this.dir, o.saveLogsTo, { recursive: true,  });
    }
    await this.set.stop(o.saveLogsTo ? { saveLogsTo: path.join(o.saveLogsTo, 'control-planes') } : {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
