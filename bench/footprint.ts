// bench:footprint — what an idle broker and agent cost in memory and CPU, on an empty
// two-cluster mesh and with the importing agent holding 1,000 and 10,000 endpoints. Real
// processes (`plexus broker start`, `plexus agent run` against real kube-apiservers), read
// from /proc (VmRSS; utime+stime over an idle window) and from each process's own
// Prometheus metrics (V8 heap used). In the same run, the floor: bare Node processes that
// load the same libraries and do nothing (bench/footprint-floor.ts), and a bare runtime.
import '../certs/setup.ts';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api, DiscoveryV1Api, loadAllYaml } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { Mesh } from '../test/e2e/support/mesh.ts';
import { freePorts } from '../test/harness/free-ports.ts';
import type { Cluster } from '../test/harness/cluster.ts';
import { ensureNamespace, exportService } from '../test/e2e/support/objects.ts';
import { dataDirLayout } from '../broker/data-dir.ts';
import { LABEL_SOURCE_CLUSTER } from '../crds/types.ts';
import { clockTicksPerSecond } from './proc-sampler.ts';
import { formatRun, recordBenchmark, type BenchmarkRun } from './record.ts';
import { waitFor } from '../test/harness/wait-for.ts';

/** Seconds from start (or from the last import arriving) until the idle window opens; the issue measured 90 s after start. */
const SETTLE_S = Number(process.env.PLEXUS_BENCH_SETTLE_S ?? 90);
/** Length of the idle window over which CPU is summed. */
const IDLE_S = Number(process.env.PLEXUS_BENCH_IDLE_S ?? 60);
const ENDPOINTS_PER_SERVICE = 100;
const STEPS = [1_000, 10_000];
const NS = 'footprint';
const MiB = 2 ** 20;
const IMPORT_TIMEOUT_MS = 600_000;
const TARGETS = { agentIdle: 128, agent10k: 300, brokerIdle: 128 };

const repo = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS, and RssAnon: the private part (RSS also counts the Node binary's code pages, mapped from disk and shared). */
function rssMiB(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clockTicksPerSecond;
}

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Environment variables the container `name` of deploy/<role>/deployment.yaml sets to literal values (V8 and allocator flags). */
function deployedEnv(role: string): Record<string, string> {
  const docs = loadAllYaml(readFileSync(path.join(repo, 'deploy', role, 'deployment.yaml'), 'utf8')) as { spec?: { template?: { spec?: { containers?: { name: string; env?: { name: string; value?: string }[] }[] } } } }[];
  const container = docs.flatMap((d) => d.spec?.template?.spec?.containers ?? []).find((c) => c.name === role);
  if (!container) throw new Error(`deploy/${role}/deployment.yaml has no container named ${role}`);
  return Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined && /^(NODE_OPTIONS|MALLOC_)/.test(e.name)).map((e) => [e.name, e.value!]));
}

/**
 * The image fills Node's compile cache at build time (Dockerfile: ENV NODE_COMPILE_CACHE and
 * bin/warm-compile-cache.ts); when it does, fill one the same way in `dir` and return the
 * environment that points every process here at it. The floor's own module is added by
 * running it once (a process stores what it compiled when it exits).
 */
function imageCompileCache(dir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  if (!/^ENV NODE_COMPILE_CACHE=/m.test(readFileSync(path.join(repo, 'Dockerfile'), 'utf8'))) return {};
  const withCache = { ...env, NODE_COMPILE_CACHE: dir };
  execFileSync(process.execPath, [path.join(repo, 'bin', 'warm-compile-cache.ts')], { cwd: repo, env: withCache, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, [path.join(repo, 'bench', 'footprint-floor.ts')], { cwd: repo, env: withCache, stdio: ['ignore', 'ignore', 'inherit'] });
  return { NODE_COMPILE_CACHE: dir };
}

/** A process measured by the bench: its pid and how to read its V8 heap in use (bytes). */
interface Measured { name: string; pid: number; heapUsed: () => Promise<number> }

/** A floor process (bench/footprint-floor.ts): answers each stdin line with process.memoryUsage(). */
async function startFloor(role: string): Promise<{ proc: ChildProcess; measured: Measured }> {
  const proc = spawn(process.execPath, [path.join(repo, 'bench', 'footprint-floor.ts'), role], { cwd: repo, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const queue: ((line: string) => void)[] = [];
  const ready = new Promise<void>((resolve) => queue.push(() => resolve()));
  lines.on('line', (line) => queue.shift()?.(line));
  await ready;
  const heapUsed = () => new Promise<number>((resolve) => {
    queue.push((line) => resolve((JSON.parse(line) as { heapUsed: number }).heapUsed));
    proc.stdin!.write('\n');
  });
  return { proc, measured: { name: role === 'runtime' ? 'floor: bare Node 24 runtime' : `floor: Node 24 + the ${role}'s libraries`, pid: proc.pid!, heapUsed } };
}

interface Figures { rss: number; anon: number; heap: number; cpuPerMin: number }

/** Waits `settleS`, then measures every process over one idle window of IDLE_S. */
async function measureIdle(procs: Measured[], settleS: number, label: string): Promise<Map<string, Figures>> {
  process.stderr.write(`bench:footprint: ${label}: settling ${settleS} s, then measuring ${IDLE_S} s\n`);
  await sleep(settleS * 1000);
  const cpu0 = new Map(procs.map((p) => [p.name, cpuSeconds(p.pid)]));
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const minutes = (performance.now() - t0) / 60_000;
  const out = new Map<string, Figures>();
  for (const p of procs) {
    // CPU and RSS first: reading the heap (a metrics scrape) costs the process a little of both.
    const cpuPerMin = (cpuSeconds(p.pid) - cpu0.get(p.name)!) / minutes;
    const { rss, anon } = rssMiB(p.pid);
    out.set(p.name, { rss, anon, heap: (await p.heapUsed()) / MiB, cpuPerMin });
  }
  return out;
}

/** Services svc-<from>…svc-<to-1> in cluster `c`, each with one EndpointSlice of ENDPOINTS_PER_SERVICE ready endpoints, all exported. */
async function exportServices(c: Cluster, from: number, to: number): Promise<void> {
  const core = c.client(CoreV1Api);
  const discovery = c.client(DiscoveryV1Api);
  for (let s = from; s < to; s++) {
    const name = `svc-${s}`;
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } } });
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: {
      metadata: { name: `${name}-local`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, i) => ({
        addresses: [`10.${100 + Math.floor(s / 250)}.${s % 250}.${i + 1}`], conditions: { ready: true }, hostname: `${name}-${i}`, zone: 'zone-a',
      })),
    } });
    await exportService(c, NS, name);
  }
}

/** Endpoints cluster `c` holds in EndpointSlices imported from `source`. */
async function importedEndpoints(c: Cluster, source: string): Promise<number> {
  const list = await c.client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: NS, labelSelector: `${LABEL_SOURCE_CLUSTER}=${source}` });
  return list.items.reduce((n, s) => n + (s.endpoints?.length ?? 0), 0);
}

async function main(): Promise<void> {
  process.env.PLEXUS_E2E_LOG_LEVEL ??= 'info';
  // Every measured process (and floor) runs with the V8 and allocator settings the
  // deployments set; the children inherit them. PLEXUS_BENCH_ENV (JSON) replaces them to
  // try others.
  const env = process.env.PLEXUS_BENCH_ENV ? JSON.parse(process.env.PLEXUS_BENCH_ENV) as Record<string, string> : deployedEnv('agent');
  const brokerEnv = process.env.PLEXUS_BENCH_ENV ? env : deployedEnv('broker');
  if (JSON.stringify(env) !== JSON.stringify(brokerEnv)) throw new Error(`bench:footprint starts both roles with one environment, but the deployments differ: agent ${JSON.stringify(env)}, broker ${JSON.stringify(brokerEnv)}`);
  delete process.env.NODE_OPTIONS;
  Object.assign(process.env, env);
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-compile-cache-'));
  Object.assign(env, imageCompileCache(cacheDir, process.env));
  Object.assign(process.env, env);
  const metricsPorts = await freePorts(2);
  const floors = await Promise.all(['runtime', 'agent', 'broker'].map(startFloor));
  let mesh: Mesh | undefined;
  try {
    mesh = await Mesh.start({ clusters: 2, brokerStartTimeoutMs: 300_000, agentArgs: (c) => ['--metrics-listen', `127.0.0.1:${metricsPorts[c === 'cluster-1' ? 0 : 1]}`] });
    const [exporter, importer] = [mesh.cluster(0), mesh.cluster(1)];
    const layout = dataDirLayout(mesh.brokerDir);
    const brokerUrl = mesh.brokerUrl;
    const admin = new Agent({ connect: { minVersion: 'TLSv1.3', ca: readFileSync(layout.adminCa), cert: readFileSync(layout.adminCert), key: readFileSync(layout.adminKey) } });
    const scrapeAgent = (i: number) => async () => metricValue(await (await fetch(`http://127.0.0.1:${metricsPorts[i]}/metrics`)).text(), 'plexus_agent_nodejs_heap_size_used_bytes');
    const scrapeBroker = async () => metricValue(await (await request(`${brokerUrl}/metrics`, { dispatcher: admin })).body.text(), 'plexus_broker_nodejs_heap_size_used_bytes');
    const procs: Measured[] = [
      { name: 'broker', pid: mesh.brokerPid!, heapUsed: scrapeBroker },
      { name: `agent ${exporter.name} (exports)`, pid: mesh.agentPid(exporter.name)!, heapUsed: scrapeAgent(0) },
      { name: `agent ${importer.name} (imports)`, pid: mesh.agentPid(importer.name)!, heapUsed: scrapeAgent(1) },
      ...floors.map((f) => f.measured),
    ];
    // Both agents up (metrics answering) before the settle time starts counting.
    await waitFor(async () => Number.isFinite(await scrapeAgent(0)().catch(() => NaN)) && Number.isFinite(await scrapeAgent(1)().catch(() => NaN)), { what: 'agents serving metrics', timeoutMs: 300_000 });

    const phases: { label: string; figures: Map<string, Figures> }[] = [];
    phases.push({ label: 'idle, empty mesh', figures: await measureIdle(procs, SETTLE_S, 'idle') });
    for (const c of mesh.clusters) await ensureNamespace(c, NS);
    let services = 0;
    let missing: string | undefined;
    for (const endpoints of STEPS) {
      const target = endpoints / ENDPOINTS_PER_SERVICE;
      await exportServices(exporter, services, target);
      services = target;
      try {
        await waitFor(async () => (await importedEndpoints(importer, exporter.name)) === endpoints, { what: `${endpoints} endpoints imported in ${importer.name}`, timeoutMs: IMPORT_TIMEOUT_MS });
      } catch (err) {
        // Record what was measured, and say what did not arrive, rather than nothing.
        missing = `${endpoints.toLocaleString('en')} endpoints: only ${await importedEndpoints(importer, exporter.name)} had arrived in ${importer.name} after ${IMPORT_TIMEOUT_MS / 1000} s (${(err as Error).message}); not measured`;
        break;
      }
      phases.push({ label: `${endpoints.toLocaleString('en')} endpoints`, figures: await measureIdle(procs, SETTLE_S / 3, `${endpoints} endpoints`) });
    }
    await admin.close();
    report(procs, phases, env, missing);
  } finally {
    for (const f of floors) f.proc.kill('SIGKILL');
    await mesh?.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function report(procs: Measured[], phases: { label: string; figures: Map<string, Figures> }[], env: Record<string, string>, missing: string | undefined): void {
  const f1 = (x: number) => x.toFixed(1);
  const idle = phases[0]!.figures;
  const floorOf = (name: string) => (name.startsWith('broker') ? 'floor: Node 24 + the broker\'s libraries' : 'floor: Node 24 + the agent\'s libraries');
  const rows: (string | number)[][] = [];
  for (const phase of phases) {
    for (const p of procs) {
      if (p.name.startsWith('floor') && phase !== phases[0]) continue;
      const f = phase.figures.get(p.name)!;
      const floor = p.name.startsWith('floor') ? undefined : idle.get(floorOf(p.name))!;
      rows.push([p.name, phase.label, f1(f.rss), f1(f.anon), f1(f.heap), f.cpuPerMin.toFixed(2), floor ? `${f1(floor.rss)} (${(f.rss / floor.rss).toFixed(2)}×)` : '']);
    }
  }
  const importer = procs[2]!.name;
  const verdict = (what: string, measured: number, target: number) => `${what}: ${f1(measured)} MiB, target ≤ ${target} MiB (ratio ${(measured / target).toFixed(2)}, ${measured <= target ? 'met' : 'NOT met'})`;
  const agentIdle = Math.max(idle.get(procs[1]!.name)!.rss, idle.get(importer)!.rss);
  const run: BenchmarkRun = {
    title: 'bench:footprint — idle broker and agents, and an agent holding 1,000 / 10,000 imported endpoints',
    columns: ['process', 'state', 'RSS MiB', 'of which anonymous MiB', 'V8 heap used MiB', 'CPU s per idle minute', 'floor RSS MiB (RSS / floor)'],
    rows,
    notes: [
      verdict('agent idle (larger of the two)', agentIdle, TARGETS.agentIdle),
      phases.length === STEPS.length + 1 ? verdict('agent holding 10,000 imported endpoints', phases.at(-1)!.figures.get(importer)!.rss, TARGETS.agent10k) : `agent holding 10,000 imported endpoints: not measured (${missing})`,
      verdict('broker idle', idle.get('broker')!.rss, TARGETS.brokerIdle),
      'Peers (published, not measured here): OCM klusterlet agent idles at about 71 MB, karmada-agent at about 266 Mi; before this benchmark an idle agent measured 192–200 MB and a broker about 206 MB (issue 13).',
      `Method: a broker and one \`plexus agent run\` per cluster on two API-server-only control planes (test/harness), started as \`node bin/plexus.ts …\` like the image does. Idle windows open ${SETTLE_S} s after the agents serve metrics (${Math.round(SETTLE_S / 3)} s after the last endpoint arrives) and last ${IDLE_S} s; RSS is VmRSS at the end of the window (anonymous: RssAnon, the process's private memory; the rest is mostly the Node binary's code pages, file-backed and shared by every Node process on a host), CPU is utime+stime over it (/proc), heap is nodejs_heap_size_used_bytes from the process's own /metrics (the broker's over mTLS with the admin identity; the floors report process.memoryUsage()).`,
      `Endpoints: cluster-1 exports services of ${ENDPOINTS_PER_SERVICE} ready endpoints each (one EndpointSlice per service); cluster-2's agent imports them into its cluster, counted from its imported EndpointSlices before the window opens. The exporting agent holds the same endpoints as local slices.`,
      `Environment of every measured process and floor, as deploy/agent and deploy/broker (NODE_OPTIONS) and the Dockerfile (NODE_COMPILE_CACHE, filled beforehand by bin/warm-compile-cache.ts as the image build does) set it: ${Object.entries(env).map(([k, v]) => `${k}=${k === 'NODE_COMPILE_CACHE' ? '<filled cache>' : v}`).join(' ') || 'none'}.`,
      'Floors, measured in the same run: bench/footprint-floor.ts loads the third-party libraries (and node:sqlite for the broker) that the role loads and idles; the bare runtime loads nothing. Everything shares the machine\'s 2 cores (see load).',
    ],
  };
  if (process.env.BENCH_NO_RECORD) process.stdout.write(formatRun(run));
  else recordBenchmark(run);
}

await main();
