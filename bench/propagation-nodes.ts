// bench:propagation --nodes — the same export → import path as bench/propagation.ts, end to
// end with real pods: Plexus deployed as pods (test/harness/plexus-deploy.ts) into real-node
// clusters, web pods behind N Services in cluster-1, and a client pod in cluster-2. For each
// Service, from the `kubectl apply` of its ServiceExport until
//   (a) the ServiceImport exists in every other cluster (a watch from this process),
//   (b) the agent's DNS server answers the name (dig @plexus-dns from the client pod),
//   (c) the client pod's own resolver (the cluster's CoreDNS, stub domain to the agent) answers,
//   (d) curl http://<svc>.<ns>.svc.clusterset.local/ from the client pod gets a 200.
// (b)–(d) are polled inside the pod by dash loops that were already asking before the export
// (the loop writes /proc/uptime at its first success), so kubectl exec latency is not counted.
// The nodes are network namespaces of this host: /proc/uptime is the same clock in the pod and
// here (10 ms steps).
import '../certs/setup.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { startClusters, waitFor } from '../test/harness/index.ts';
import type { Cluster, ClusterSet } from '../test/harness/index.ts';
import { LAB_TOOLS_IMAGE, runLabPod } from '../test/harness/lab-pod.ts';
import { deployPlexus } from '../test/harness/plexus-deploy.ts';
import type { PlexusDeployment } from '../test/harness/plexus-deploy.ts';
import { formatRun, percentile, recordBenchmark, type BenchmarkRun } from './record.ts';
import { MCS_GROUP, MCS_VERSION } from '../crds/types.ts';

const SERVICES = Number(process.env.PLEXUS_BENCH_NODES_SERVICES ?? 10);
const CLUSTERS = Number(process.env.PLEXUS_BENCH_NODES_CLUSTERS ?? 2);
const NS = 'bench';
const STAGES = ['agent', 'dns', 'curl'] as const;

/** Seconds since boot, the clock the pods' loops stamp with. */
const uptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/**
 * The loop the client pod runs per stage and Service: $1 stage, $2 name, $3 agent DNS IP.
 * It marks itself started after its first (failed) try, and stamps the first success.
 */
const POLL_SH = `stage=$1; name=$2; agent=$3; out=/tmp/$name
ok() {
  case $stage in
    agent) [ -n "$(dig +short +time=1 +tries=1 @"$agent" "$name" A)" ] ;;
    dns) [ -n "$(dig +short +time=1 +tries=1 "$name" A)" ] ;;
    curl) curl -sf -o /dev/null -m 1 "http://$name/" ;;
  esac
}
first=1
until ok; do
  [ $first = 1 ] && : > "$out.$stage.started" && first=0
  sleep 0.05
done
read up rest < /proc/uptime
echo "$up" > "$out.$stage.tmp" && mv "$out.$stage.tmp" "$out.$stage"
`;

async function kubectlOk(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${cluster.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

function webManifests(cluster: string): string {
  const objs: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: {
        metadata: { labels: { app: 'web' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{
          name: 'httpd', image: LAB_TOOLS_IMAGE, imagePullPolicy: 'Never',
          command: ['sh', '-c', `mkdir -p /tmp/www && echo "web in ${cluster}" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        }] },
      } } },
  ];
  for (let i = 1; i <= SERVICES; i++) {
    objs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `web-${i}`, namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
  }
  return objs.map((o) => JSON.stringify(o)).join('\n---\n');
}

/** Calls `seen(name)` for every ServiceImport event in NS; a watch the server ends is reopened. */
async function watchImports(kc: KubeConfig, seen: (name: string) => void): Promise<() => void> {
  let stopped = false;
  let current: AbortController | undefined;
  const open = async (): Promise<void> => {
    if (stopped) return;
    current = await new Watch(kc).watch(`/apis/${MCS_GROUP}/${MCS_VERSION}/namespaces/${NS}/serviceimports`, {},
      (_type, obj: { metadata?: { name?: string } }) => { if (obj.metadata?.name) seen(obj.metadata.name); },
      () => void open().catch(() => setTimeout(() => void open(), 200)));
  };
  await open();
  return () => { stopped = true; current?.abort(); };
}

/** The API-level figure (export → ServiceImport, agents as host processes) last recorded in BENCHMARKS.md. */
function apiLevelFigure(): { when: string; p50: number; p99: number; max: number } | undefined {
  const text = readFileSync(path.resolve(import.meta.dirname, '..', 'BENCHMARKS.md'), 'utf8');
  const sections = text.split(/^## /m).filter((s) => s.startsWith('bench:propagation — write in cluster A'));
  const last = sections.at(-1);
  const row = last && /^\| ServiceExport create → ServiceImport \| \d+ \| (\d+) \| (\d+) \| (\d+) \|/m.exec(last);
  if (!last || !row) return undefined;
  return { when: /^(\S+Z) —/m.exec(last)?.[1] ?? '?', p50: Number(row[1]), p99: Number(row[2]), max: Number(row[3]) };
}

export async function main(): Promise<void> {
  const loadAtStart = os1();
  let set: ClusterSet | undefined;
  let plexus: PlexusDeployment | undefined;
  try {
    const tStart = performance.now();
    set = await startClusters(CLUSTERS, { nodes: true });
    plexus = await deployPlexus(set);
    const setupMs = performance.now() - tStart;
    const [c1, c2] = [set.clusters[0]!, set.clusters[1]!];
    const others = set.clusters.slice(1);
    await kubectlOk(c1, ['apply', '-f', '-'], webManifests(c1.name));
    await kubectlOk(c1, ['-n', NS, 'rollout', 'status', 'deploy/web', '--timeout=300s']);
    const client = await runLabPod(c2, { namespace: NS, name: 'client', timeoutMs: 300_000 });
    // `exec -i`: without it kubectl does not pass stdin on, and the script would be empty.
    const w = await c2.kubectl(['-n', NS, 'exec', '-i', client.name, '--', 'sh', '-c', 'cat > /tmp/poll.sh && [ -s /tmp/poll.sh ]'], { input: POLL_SH });
    if (w.code !== 0) throw new Error(`writing the poll script into the client pod: exit ${w.code} ${w.stderr.trim()}`);
    const agentDns = plexus.cluster(1).dnsServiceIp;
    if (!agentDns) throw new Error('no plexus-dns ClusterIP for cluster-2');

    // First arrival (in uptime seconds) of each ServiceImport per other cluster.
    const imports = others.map(() => new Map<string, number>());
    const stops = await Promise.all(others.map((c, i) => watchImports(c.kubeConfig, (name) => { if (!imports[i]!.has(name)) imports[i]!.set(name, uptime()); })));

    const rows: Record<'import' | (typeof STAGES)[number], number[]> = { import: [], agent: [], dns: [], curl: [] };
    for (let i = 1; i <= SERVICES; i++) {
      const svc = `web-${i}`;
      const name = `${svc}.${NS}.svc.clusterset.local`;
      // One exec that lives as long as its loops.
      const loops = client.exec(['sh', '-c', `${STAGES.map((s) => `sh /tmp/poll.sh ${s} ${name} ${agentDns} &`).join(' ')} wait`], { timeoutMs: 300_000 });
      await waitFor(async () => (await client.exec(['sh', '-c', STAGES.map((s) => `{ [ -e /tmp/${name}.${s}.started ] || [ -e /tmp/${name}.${s} ]; }`).join(' && ')])).code === 0 || undefined,
        { what: `poll loops for ${svc} running`, timeoutMs: 120_000, intervalMs: 200 });
      const t0 = uptime();
      await kubectlOk(c1, ['apply', '-f', '-'], JSON.stringify({ apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name: svc, namespace: NS } }));
      await waitFor(async () => (imports.every((m) => m.has(svc)) ? true : undefined), { what: `ServiceImport ${svc} in every other cluster`, timeoutMs: 120_000, intervalMs: 20 });
      rows.import.push(Math.max(...imports.map((m) => m.get(svc)!)) - t0);
      const done = await loops;
      if (done.code !== 0) throw new Error(`poll loops for ${svc}: exit ${done.code} ${done.stderr.trim()}`);
      const r = await client.exec(['sh', '-c', `cat ${STAGES.map((s) => `/tmp/${name}.${s}`).join(' ')}`]);
      const stamps = r.stdout.trim().split('\n').map(Number);
      if (r.code !== 0 || stamps.length !== STAGES.length) throw new Error(`stamps for ${svc}: ${r.stdout} ${r.stderr}`);
      STAGES.forEach((s, k) => rows[s].push(stamps[k]! - t0));
      console.log(`${svc}: import ${(rows.import.at(-1)! * 1000).toFixed(0)} ms, ${STAGES.map((s) => `${s} ${(rows[s].at(-1)! * 1000).toFixed(0)} ms`).join(', ')}`);
    }
    for (const s of stops) s();

    const ms = (x: number) => (x * 1000).toFixed(0);
    const stat = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return [s.length, ms(percentile(s, 50)), ms(percentile(s, 95)), ms(s.at(-1)!)]; };
    const api = apiLevelFigure();
    const p50 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50) * 1000;
    const ratio = (xs: number[]) => (api ? `${(p50(xs) / api.p50).toFixed(1)}×` : '?');
    const run: BenchmarkRun = {
      title: `bench:propagation --nodes — ServiceExport apply until a pod in another cluster resolves the name and connects (real pods, ${CLUSTERS} real-node clusters)`,
      columns: ['from `kubectl apply` of the ServiceExport in cluster-1 until', 'count', 'p50 ms', 'p95 ms', 'max ms', 'p50 / API-level p50'],
      rows: [
        [`ServiceImport in every other cluster (watch)`, ...stat(rows.import), ratio(rows.import)],
        ['cluster-2 pod: agent DNS answers (dig @plexus-dns)', ...stat(rows.agent), ratio(rows.agent)],
        ['cluster-2 pod: its CoreDNS answers (dig, resolv.conf)', ...stat(rows.dns), ratio(rows.dns)],
        ['cluster-2 pod: curl http://<svc>.bench.svc.clusterset.local/ → 200', ...stat(rows.curl), ratio(rows.curl)],
      ],
      notes: [
        api ? `API-level figure beside it: bench:propagation (agents as host processes, ${api.when}) ServiceExport create → ServiceImport p50 ${api.p50} ms, p99 ${api.p99} ms, max ${api.max} ms; the last column divides by that p50.` : 'No API-level bench:propagation figure in BENCHMARKS.md to compare with.',
        `Setup: ${CLUSTERS} real-node clusters, Plexus deployed as pods (broker in cluster-1, an agent per cluster), one web pod behind ${SERVICES} Services in cluster-1, exported one at a time; setup took ${(setupMs / 1000).toFixed(0)} s. Load average when the run started: ${loadAtStart}.`,
        'The pod-side times are stamped inside the client pod by dash loops (dig/curl, 50 ms apart) that were already asking before the export, so kubectl exec latency is not counted; the clock is /proc/uptime (10 ms steps), shared by the pods and this process (the nodes are network namespaces of this host). `kubectl apply` itself (a kubectl process start) is inside every figure.',
        'Negative caching, and what part of the figure it is: the loops asked before the export existed, so cluster-2\'s CoreDNS cached the NXDOMAIN. The stub-domain block `plexus agent dns patch-coredns` writes is `clusterset.local:53 { errors; cache 5; forward . <plexus-dns> }` (agent/dns/corefile.ts; the lab\'s main block has `cache 30` but only for cluster.local and the rest), and the agent\'s denials carry an SOA whose TTL and minimum are its --dns-ttl, 5 s by default: so a denial is served from the cache for 5 s, and a name that becomes known to the agent meanwhile waits 0–5 s (2.5 s on average) more. The "agent DNS answers" row asks the agent directly (no cache) and is the figure without it; the gap to the "its CoreDNS answers" row is that cache plus one CoreDNS hop. A client that first asks after the import exists does not pay it; one that asked just before does (--cache 0 on patch-coredns, or a lower --dns-ttl, shortens it).',
      ],
    };
    if (process.env.BENCH_NO_RECORD) process.stdout.write(formatRun(run));
    else recordBenchmark(run);
  } finally {
    await set?.stop();
  }
}

function os1(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
