// bench:fanout — one broker process, 1,000 agents, each a real mTLS client with its own
// cluster identity, each exporting 100 services (bulk PUT) and watching the change
// stream. Then single export updates, one at a time: per change, the time until every
// watcher has received it, the broker's CPU per change and its RSS.
//
// The broker runs as `node bin/plexus.ts broker start` in its own process so its RSS and
// CPU come from /proc/<pid>; all 1,000 agents share this one process (and the machine's
// cores with the broker), so the latencies include client-side TLS and parsing.
import '../certs/setup.ts';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { catalogPaths, type ExportSpecInput } from '../broker/api/catalog.ts';
import { paths } from '../broker/api/types.ts';
import { dataDirLayout } from '../broker/data-dir.ts';
import { initBroker } from '../broker/init.ts';
import { createCsr } from '../certs/csr.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../certs/keys.ts';
import { formatRun, percentile, recordBenchmark, type BenchmarkRun } from './record.ts';
import { pool } from './pool.ts';

const AGENTS = Number(process.env.FANOUT_AGENTS ?? 1000);
const SERVICES = Number(process.env.FANOUT_SERVICES ?? 100);
const CHANGES = Number(process.env.FANOUT_CHANGES ?? 30);
const CLUSTERS_PER_SERVICE = 10;
const CLUSTERSET = 'bench.example';
const repo = path.resolve(import.meta.dirname, '..');

interface Identity { certPem: string; keyPem: string }

function checkUlimit(): number {
  const n = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  // The broker and this process each hold one socket per watcher plus write connections.
  if (Number.isFinite(n) && n < AGENTS * 2 + 256) throw new Error(`ulimit -n is ${n}; need at least ${AGENTS * 2 + 256} for ${AGENTS} watchers`);
  return n;
}

function procStats(pid: number): { rssMiB: number; hwmMiB: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024, cpuMs: (ticks * 1000) / CLK_TCK };
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

async function startBrokerProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(repo, 'bin/plexus.ts'), 'broker', 'start', '--data-dir', dataDir,
    '--listen', '127.0.0.1:0', '--log-level', 'warn', '--lease-duration', '1h'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const brokerJson = dataDirLayout(dataDir).brokerJson;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    if (existsSync(brokerJson)) {
      const info = JSON.parse(readFileSync(brokerJson, 'utf8')) as { url: string; pid: number };
      if (info.pid === child.pid) return { child, url: info.url };
    }
    await delay(50);
  }
  throw new Error('broker did not start within 30 s');
}

async function call(url: string, dispatcher: Agent, p: string, method: 'GET' | 'POST' | 'PUT', body?: unknown): Promise<unknown> {
  const res = await request(new URL(p, url), {
    method, dispatcher, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const clusterId = (i: number) => `agent-${String(i).padStart(4, '0')}`;

/** Service j of agent i: CLUSTERS_PER_SERVICE neighbouring agents export each service. */
function spec(i: number, j: number, extraPort?: number): ExportSpecInput {
  const group = Math.floor(i / CLUSTERS_PER_SERVICE);
  const ports = [{ name: 'http', protocol: 'TCP' as const, port: 80 }];
  if (extraPort !== undefined) ports.push({ name: `p${extraPort}`, protocol: 'TCP', port: extraPort });
  return {
    cluster: clusterId(i), namespace: `ns-${j % 10}`, name: `svc-${group}-${j}`,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), type: 'ClusterSetIP', ports,
    endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [0, 1, 2].map((k) => ({ addresses: [`10.${i % 250}.${j}.${k + 1}`], nodeName: `node-${k}` })),
  };
}

async function enroll(url: string, admin: Agent, caPem: string): Promise<Agent[]> {
  return pool(AGENTS, 8, async (i) => {
    const { token } = await call(url, admin, paths.adminTokens, 'POST', { cluster: clusterId(i) }) as { token: string };
    const keys = await generateKeyPair('P-256');
    const csr = await createCsr({ keys, commonName: clusterId(i), identity: { trustDomain: CLUSTERSET, kind: 'cluster', name: clusterId(i) } });
    const joinAgent = new Agent({ connect: { ca: caPem } });
    const res = await call(url, joinAgent, paths.join, 'POST', { token, csr }) as { certificate: string };
    await joinAgent.close();
    const id: Identity = { certPem: res.certificate, keyPem: await exportPrivateKeyPem(keys.privateKey) };
    return new Agent({ connect: { ca: caPem, cert: id.certPem, key: id.keyPem }, connections: 4 });
  });
}

/** One agent's watch stream: when each event arrived, so a change's delivery is timed at the socket. */
class Watcher {
  last = 0;
  target = Infinity;
  receivedAt = 0;
  bookmarked = false;
  #arrivals: [number, number][] = [];
  #rest = '';
  onTarget: () => void = () => undefined;

  feed(chunk: Buffer): void {
    const now = performance.now();
    this.#rest += chunk.toString('utf8');
    let nl;
    while ((nl = this.#rest.indexOf('\n')) >= 0) {
      const line = this.#rest.slice(0, nl);
      this.#rest = this.#rest.slice(nl + 1);
      const e = JSON.parse(line) as { type: string; revision: number };
      if (e.type === 'bookmark') {
        this.bookmarked = true;
        continue;
      }
      this.last = e.revision;
      this.#arrivals.push([e.revision, now]);
    }
    this.#check();
  }

  /** Before a change: forget earlier arrivals. */
  reset(): void {
    this.target = Infinity;
    this.receivedAt = 0;
    this.#arrivals = [];
  }

  /** After the write answered: the change is delivered once an event at `target` arrived (maybe already). */
  arm(target: number): void {
    this.target = target;
    this.#check();
  }

  #check(): void {
    if (this.receivedAt !== 0 || this.last < this.target) return;
    this.receivedAt = this.#arrivals.find(([rev]) => rev >= this.target)![1];
    this.onTarget();
  }
}

let tearingDown = false;

async function openWatches(url: string, agents: Agent[], since: number): Promise<Watcher[]> {
  const watchers = agents.map(() => new Watcher());
  await pool(agents.length, 16, async (i) => {
    const res = await request(new URL(catalogPaths.watch(since), url), { dispatcher: agents[i]!, bodyTimeout: 0 });
    if (res.statusCode !== 200) throw new Error(`watch ${i}: ${res.statusCode}`);
    res.body.on('data', (c: Buffer) => watchers[i]!.feed(c));
    res.body.on('error', (err) => {
      if (!tearingDown) console.error(`watch ${i} failed: ${err.message}`);
    });
  });
  while (!watchers.every((w) => w.bookmarked)) await delay(20);
  return watchers;
}

async function measureChange(url: string, agents: Agent[], watchers: Watcher[], k: number): Promise<{ latencies: number[]; all: number }> {
  const i = (k * 37) % AGENTS;
  const j = (k * 13) % SERVICES;
  let pending = watchers.length;
  let done!: () => void;
  const allReceived = new Promise<void>((r) => (done = r));
  for (const w of watchers) {
    w.reset();
    w.onTarget = () => {
      if (--pending === 0) done();
    };
  }
  const t0 = performance.now();
  const s = spec(i, j, 9000 + k);
  const res = await call(url, agents[i]!, catalogPaths.export(s.namespace, s.name), 'PUT', s) as { revision: number };
  for (const w of watchers) w.arm(res.revision);
  await allReceived;
  const latencies = watchers.map((w) => w.receivedAt - t0);
  return { latencies, all: Math.max(...latencies) };
}

async function main(): Promise<void> {
  const nofile = checkUlimit();
  const root = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-fanout-'));
  const dataDir = path.join(root, 'broker');
  await initBroker({ dataDir, clusterset: CLUSTERSET, now: new Date() });
  const layout = dataDirLayout(dataDir);
  const caPem = readFileSync(layout.adminCa, 'utf8');
  const { child, url } = await startBrokerProcess(dataDir);
  const pid = child.pid!;
  const admin = new Agent({ connect: { ca: caPem, cert: readFileSync(layout.adminCert, 'utf8'), key: readFileSync(layout.adminKey, 'utf8') } });
  let agents: Agent[] = [];
  try {
    let t = performance.now();
    agents = await enroll(url, admin, caPem);
    const enrollS = (performance.now() - t) / 1000;

    t = performance.now();
    const revisions = await pool(AGENTS, 8, async (i) => {
      const res = await call(url, agents[i]!, catalogPaths.exports, 'PUT', { exports: Array.from({ length: SERVICES }, (_, j) => spec(i, j)) });
      return (res as { revision: number }).revision;
    });
    const loadS = (performance.now() - t) / 1000;
    const head = Math.max(...revisions);
    const afterLoad = procStats(pid);

    t = performance.now();
    const watchers = await openWatches(url, agents, head);
    const watchS = (performance.now() - t) / 1000;
    const afterWatch = procStats(pid);

    const latencies: number[] = [];
    const perChange: number[] = [];
    const cpu0 = procStats(pid).cpuMs;
    const clientCpu0 = process.cpuUsage();
    for (let k = 0; k < CHANGES; k++) {
      const r = await measureChange(url, agents, watchers, k);
      latencies.push(...r.latencies);
      perChange.push(r.all);
    }
    const cpuPerChange = (procStats(pid).cpuMs - cpu0) / CHANGES;
    const clientCpu = process.cpuUsage(clientCpu0);
    const end = procStats(pid);
    report({ latencies, perChange, cpuPerChange, afterLoad, afterWatch, end, enrollS, loadS, watchS, head, nofile,
      clientCpuPerChange: (clientCpu.user + clientCpu.system) / 1000 / CHANGES });
  } finally {
    tearingDown = true;
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
    await admin.close();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(root, { recursive: true, force: true });
  }
}

interface Figures {
  latencies: number[]; perChange: number[]; cpuPerChange: number; clientCpuPerChange: number;
  afterLoad: ReturnType<typeof procStats>; afterWatch: ReturnType<typeof procStats>; end: ReturnType<typeof procStats>;
  enrollS: number; loadS: number; watchS: number; head: number; nofile: number;
}

function report(f: Figures): void {
  const lat = [...f.latencies].sort((a, b) => a - b);
  const all = [...f.perChange].sort((a, b) => a - b);
  const p99 = percentile(lat, 99);
  const rss = Math.max(f.afterWatch.rssMiB, f.end.rssMiB);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const run: BenchmarkRun = {
    title: `bench:fanout — ${AGENTS} agents × ${SERVICES} exports, every change to every watcher`,
    columns: ['metric', 'measured', 'target', 'measured / target'],
    rows: [
      ['delivery latency p50 (per agent and change)', ms(percentile(lat, 50)), '', ''],
      ['delivery latency p99 (per agent and change)', ms(p99), '≤ 1000 ms', (p99 / 1000).toFixed(3)],
      ['time until all watchers have a change, p50 / p99 / max', `${ms(percentile(all, 50))} / ${ms(percentile(all, 99))} / ${ms(all.at(-1)!)}`, '', ''],
      ['broker RSS with all watchers connected (max seen)', `${rss.toFixed(0)} MiB`, '≤ 1024 MiB', (rss / 1024).toFixed(3)],
      ['broker RSS after load, before watchers / peak (VmHWM)', `${f.afterLoad.rssMiB.toFixed(0)} / ${f.end.hwmMiB.toFixed(0)} MiB`, '', ''],
      ['broker CPU per change (user+sys)', ms(f.cpuPerChange), '', ''],
      [`client CPU per change (all ${AGENTS} agents, same process)`, ms(f.clientCpuPerChange), '', ''],
      ['setup: enroll / bulk load / open watches', `${f.enrollS.toFixed(1)} s / ${f.loadS.toFixed(1)} s / ${f.watchS.toFixed(1)} s`, '', ''],
    ],
    notes: [
      `${AGENTS} agents, each its own cluster identity (token minted via the admin API, CSR join) and its own undici Agent over TLS 1.3; ${SERVICES} exports each (bulk PUT /v1/exports), ${CLUSTERS_PER_SERVICE} clusters per service, so ${AGENTS * SERVICES} exports merge into ${(AGENTS / CLUSTERS_PER_SERVICE) * SERVICES} services; head revision after load ${f.head}.`,
      `${CHANGES} changes, one at a time: one PUT /v1/exports/:ns/:name adding a port, so each change is an export event plus a service event (10 members). Latency runs from just before the PUT to the moment each watcher's socket delivered an event at or past the write's revision; ${lat.length} samples.`,
      'Broker: `node bin/plexus.ts broker start --log-level warn --lease-duration 1h` in its own process (long lease so no cluster expires mid-run; agents do not heartbeat here); RSS from /proc/<pid>/status, CPU from /proc/<pid>/stat utime+stime (10 ms ticks, so CPU per change is an average over all changes).',
      `All agents run in one Node process on the same ${os.cpus().length}-core machine as the broker: client TLS decryption and JSON parsing compete with the broker for CPU, so latencies are an upper bound. ulimit -n ${f.nofile}.`,
    ],
  };
  // Trial runs (smaller fleets) print without touching BENCHMARKS.md.
  if (process.env.BENCH_NO_RECORD) process.stdout.write(formatRun(run));
  else recordBenchmark(run);
}

await main();
