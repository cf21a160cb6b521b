// bench:proxy — what the access proxy adds to kubectl traffic. One real kube-apiserver, a
// real broker, one `plexus agent run` (with its proxy), a person invited and logged in
// through the real login code. In one run, interleaved request by request: GET and LIST
// directly against the API server (admin client certificate), directly with the same
// impersonation headers the proxy adds (what impersonation alone costs), and through the
// proxy. Then the watch-event delay the proxy adds (one watch direct, one through the
// proxy, same events), and RBAC drift correction via bench/rbac-drift.ts.
// Targets: added p50 ≤ 1 ms, p99 ratio ≤ 1.2×.
import '../certs/setup.ts';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RequestOptions } from 'node:https';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { AdminClient } from '../broker/admin-client.ts';
import { clusterServerName } from '../broker/api/advertisement.ts';
import { login } from '../cli/user/login.ts';
import { UserBrokerClient } from '../cli/user/user-broker-client.ts';
import { Mesh } from '../test/e2e/support/mesh.ts';
import { percentile, recordBenchmark } from './record.ts';
import { waitFor } from '../test/harness/wait-for.ts';

const NS = 'plexus-bench-proxy';
const N = Number(process.env.PLEXUS_BENCH_PROXY_REQUESTS ?? 2000);
const WATCH_EVENTS = Number(process.env.PLEXUS_BENCH_PROXY_WATCH_EVENTS ?? 200);

interface Target { name: string; dispatcher: Agent; origin: string; headers: Record<string, string | string[]> }

async function timed(t: Target, p: string): Promise<number> {
  const start = performance.now();
  const res = await request(new URL(p, t.origin), { dispatcher: t.dispatcher, headers: t.headers });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`${t.name} ${p}: HTTP ${res.statusCode}`);
  return performance.now() - start;
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

/** bench/bare-relay.ts in its own process, with a throwaway server certificate made by openssl. */
async function startRelay(home: string, upstream: string, client: { ca: string; cert: string; key: string }): Promise<{ target: Target; child: ChildProcess }> {
  const crt = path.join(home, 'relay.crt');
  const key = path.join(home, 'relay.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=relay',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  const serverCert = readFileSync(crt, 'utf8');
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'bare-relay.ts')], {
    env: { ...process.env, PLEXUS_RELAY: JSON.stringify({ upstream, ...client, serverCert, serverKey: readFileSync(key, 'utf8') }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(child.stdout!, 'data') as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  return { child, target: { name: 'bare TLS relay (same hop)', origin: `https://127.0.0.1:${port}`, headers: {}, dispatcher: new Agent({ connect: { ca: serverCert } }) } };
}

async function setup(mesh: Mesh, home: string) {
  const c = mesh.cluster(0);
  await c.client(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  for (let i = 0; i < 50; i++) {
    await c.client(CoreV1Api).createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `cm-${i}` }, data: { v: 'x'.repeat(200) } } });
  }
  const rbac = c.client(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: 'plexus-bench-read' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }] } });
  await rbac.createClusterRoleBinding({ body: { metadata: { name: 'plexus-bench-read' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plexus-bench-read' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:bench' }] } });
  const admin = AdminClient.fromDataDir(mesh.brokerDir);
  const inv = await admin.inviteUser({ name: 'bench', groups: ['bench'] }).finally(() => admin.close());
  const id = await login({ broker: mesh.brokerUrl, token: inv.token, caFingerprint: inv.caFingerprint, configDir: home, now: () => new Date() });
  const client = new UserBrokerClient({ baseUrl: mesh.brokerUrl, caPem: id.caPem, clientCert: id });
  const proxyUrl = await waitFor(async () => (await client.advertisements()).advertisements.find((a) => a.cluster === c.name)?.proxyUrl, { what: 'the agent advertises its proxy', timeoutMs: 60_000 })
    .finally(() => client.close());
  const opts: RequestOptions = {};
  await c.kubeConfig.applyToHTTPSOptions(opts);
  const directAgent = new Agent({ connect: { ca: opts.ca as string, cert: opts.cert as string, key: opts.key as string } });
  const server = c.kubeConfig.getCurrentCluster()!.server;
  const impersonation = { 'impersonate-user': 'plexus:bench', 'impersonate-group': ['plexus:bench'] };
  const relay = await startRelay(home, server, { ca: String(opts.ca), cert: String(opts.cert), key: String(opts.key) });
  const targets: Target[] = [
    { name: 'direct', dispatcher: directAgent, origin: server, headers: {} },
    relay.target,
    { name: 'direct + impersonation', dispatcher: directAgent, origin: server, headers: impersonation },
    { name: 'proxy', origin: proxyUrl, headers: {}, dispatcher: new Agent({ connect: {
      ca: id.caPem, cert: id.certPem, key: id.keyPem, servername: clusterServerName(c.name, 'e2e.plexus.local') } }) },
  ];
  return { targets, cluster: c, relay: relay.child };
}

async function latency(targets: Target[], p: string): Promise<Map<string, number[]>> {
  const samples = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (let i = 0; i < 200; i++) for (const t of targets) await timed(t, p); // warm-up: connections, caches
  for (let i = 0; i < N; i++) {
    // Rotate the order so no target always goes first.
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(i + k) % targets.length]!;
      samples.get(t.name)!.push(await timed(t, p));
    }
  }
  return samples;
}

/** Opens a watch on `t` and records when each configmap named ev-* shows up. */
async function watchArrivals(t: Target, rv: string, arrivals: Map<string, number>, signal: AbortSignal): Promise<void> {
  const res = await request(new URL(`/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${rv}`, t.origin), { dispatcher: t.dispatcher, headers: t.headers, signal, bodyTimeout: 0 });
  let buf = '';
  void (async () => {
    try {
      for await (const chunk of res.body) {
        const at = performance.now();
        buf += chunk.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const name = (JSON.parse(line) as { object?: { metadata?: { name?: string } } }).object?.metadata?.name;
          if (name?.startsWith('ev-') && !arrivals.has(name)) arrivals.set(name, at);
        }
      }
    } catch { /* aborted */ }
  })();
}

async function watchDelay(direct: Target, proxy: Target, cluster: Mesh['clusters'][number]): Promise<number[]> {
  const api = cluster.client(CoreV1Api);
  const rv = (await api.listNamespacedConfigMap({ namespace: NS })).metadata!.resourceVersion!;
  const viaDirect = new Map<string, number>();
  const viaProxy = new Map<string, number>();
  const ac = new AbortController();
  await watchArrivals(direct, rv, viaDirect, ac.signal);
  await watchArrivals(proxy, rv, viaProxy, ac.signal);
  try {
    for (let i = 0; i < WATCH_EVENTS; i++) {
      await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `ev-${i}` } } });
      await waitFor(async () => viaDirect.has(`ev-${i}`) && viaProxy.has(`ev-${i}`), { what: `ev-${i} on both watches`, timeoutMs: 10_000 });
    }
  } finally {
    ac.abort();
  }
  return [...viaDirect].map(([name, at]) => viaProxy.get(name)! - at);
}

async function main(): Promise<void> {
  // Agents log at info, as in production (the e2e driver defaults to debug).
  process.env.PLEXUS_E2E_LOG_LEVEL ??= 'info';
  const mesh = await Mesh.start({ clusters: 1 });
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-proxy-'));
  try {
    const { targets, cluster, relay } = await setup(mesh, home);
    const rows: (string | number)[][] = [];
    const ms = (x: number) => x.toFixed(3);
    let worstAddedP50 = 0;
    let worstRatio = 0;
    let worstVsRelay = 0;
    for (const [label, p] of [['GET', `/api/v1/namespaces/${NS}/configmaps/cm-0`], ['LIST (50)', `/api/v1/namespaces/${NS}/configmaps`]] as const) {
      const s = await latency(targets, p);
      const direct = stats(s.get('direct')!);
      for (const t of targets) {
        const x = stats(s.get(t.name)!);
        rows.push([label, t.name, N, ms(x.p50), ms(x.p99), ms(x.p50 - direct.p50), `${(x.p99 / direct.p99).toFixed(2)}×`]);
      }
      const proxy = stats(s.get('proxy')!);
      worstAddedP50 = Math.max(worstAddedP50, proxy.p50 - direct.p50);
      worstRatio = Math.max(worstRatio, proxy.p99 / direct.p99);
      worstVsRelay = Math.max(worstVsRelay, proxy.p99 / stats(s.get(targets[1]!.name)!).p99);
    }
    const delays = stats(await watchDelay(targets[0]!, targets.find((t) => t.name === 'proxy')!, cluster));
    rows.push(['WATCH event', 'proxy − direct', WATCH_EVENTS, ms(delays.p50), ms(delays.p99), '', '']);
    let drift = 'n/a';
    try {
      const { measureDriftCorrection } = await import('./rbac-drift.ts');
      const f = await measureDriftCorrection(mesh, Number(process.env.PLEXUS_BENCH_PROXY_DRIFTS ?? 10));
      drift = `p50 ${f.p50.toFixed(0)} ms, p99 ${f.p99.toFixed(0)} ms over ${f.samples.length} drifts`;
    } catch (err) {
      drift = `not measured (${(err as Error).message.slice(0, 80)})`;
    }
    recordBenchmark({
      title: 'bench:proxy — access proxy overhead (kubectl through one shared identity)',
      columns: ['request', 'path', 'n', 'p50 ms', 'p99 ms', 'added p50 ms', 'p99 ratio'],
      rows,
      notes: [
        'One real kube-apiserver, real broker, one `plexus agent run`; undici keep-alive clients, sequential requests, the four paths interleaved request by request after 200 warm-up rounds.',
        '"bare TLS relay (same hop)" is the physical floor of an extra hop: a separate Node process (bench/bare-relay.ts) that terminates TLS 1.3 and forwards over a keep-alive pool, with no authentication, impersonation, audit or metrics.',
        '"direct + impersonation" sends the proxy\'s Impersonate-* headers straight to the API server: the share of the cost that is impersonation, not the extra hop.',
        'WATCH: the same configmap events seen on a direct watch and a watch through the proxy; the row is the proxy\'s extra delay per event.',
        `Proxy: worst added p50 ${worstAddedP50.toFixed(3)} ms (target ≤ 1 ms), worst p99 ratio ${worstRatio.toFixed(2)}× (target ≤ 1.2×); worst p99 against the bare relay (the same hop doing nothing) ${worstVsRelay.toFixed(2)}×.`,
        `RBAC drift correction (bench/rbac-drift.ts, same mesh): ${drift}.`,
      ],
    });
    for (const d of new Set(targets.map((t) => t.dispatcher))) await d.close();
    relay.kill('SIGTERM');
  } finally {
    await mesh.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
