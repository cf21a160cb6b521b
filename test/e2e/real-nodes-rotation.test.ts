// Certificate rotation and a CA rollover with Plexus deployed as pods (real nodes): two
// one-node clusters, the broker and both agents running from the image with `kubectl
// apply -k` (test/harness/plexus-deploy.ts). Pods in both clusters keep asking their own
// cluster's CoreDNS for `cart.shop.svc.clusterset.local` (the clusterset IP) and
// `cart-pods.shop.svc.clusterset.local` (headless: cluster-1's pod IPs) over UDP and TCP
// and keep connecting to them (kube-proxy to cluster-1's pods), and a person's `kubectl get
// -w` stays open through each agent's access proxy, while (1) every agent renews its
// short-lived certificate at least three times and (2) the CA goes through all five
// rollover phases, driven the way an operator does it: `plexus broker ca rotate` run in the
// broker pod. Zero failed requests, zero lost watch events.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaRotateResponse, CaStatus } from '../../broker/api/ca.ts';
import type { Cluster } from '../harness/cluster.ts';
import { anyFailed, useClusters, type SuiteLike } from '../harness/use-clusters.ts';
import { deployPlexus, type PlexusDeployment } from '../harness/plexus-deploy.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { waitFor } from '../harness/wait-for.ts';
import { plexus } from '../support/plexus-process.ts';
import { TrafficPod, type TrafficTally } from './support/traffic-pod.ts';

const LIFETIME_S = 20;
const ROTATIONS = 3;
const TOOLS = 'plexus.local/lab-tools:1';
const kubectlBin = resolveBinaries().kubectl;

async function ok(c: Cluster, args: string[], input?: string): Promise<string> {
  const r = await c.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${c.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Serial of the certificate the agent of `c` keeps in its identity Secret. */
async function storedSerial(c: Cluster): Promise<string> {
  const s = await c.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
  return new X509Certificate(Buffer.from(s.data!['tls.crt']!, 'base64').toString('utf8')).serialNumber.toLowerCase();
}

/** cart: two busybox httpd pods in cluster-1 behind a ClusterIP Service and a headless one, both exported. */
async function serveCart(c: Cluster): Promise<void> {
  const deploy = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart', namespace: 'shop' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'cart' } },
      template: {
        metadata: { labels: { app: 'cart' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'web', image: TOOLS, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }],
            command: ['sh', '-c', 'mkdir -p /tmp/www && echo "cart $(hostname)" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 } }],
        },
      },
    },
  };
  const svc = (name: string, headless: boolean) => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' },
    spec: { selector: { app: 'cart' }, ...(headless ? { clusterIP: 'None' } : {}), ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' }] },
  });
  const exp = (name: string) => ({ apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceExport', metadata: { name, namespace: 'shop' } });
  await ok(c, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deploy, svc('cart', false), svc('cart-pods', true), exp('cart'), exp('cart-pods')] }));
  await ok(c, ['-n', 'shop', 'rollout', 'status', 'deployment/cart', '--timeout=120s']);
}

/** The A records `name` must have in cluster `c`: the clusterset IP of the import, or cluster-1's ready pod IPs. */
async function expectedAnswers(c: Cluster, exporter: Cluster, name: string): Promise<string[]> {
  if (name === 'cart') {
    return waitFor(async () => {
      const r = await c.kubectl(['-n', 'shop', 'get', 'serviceimports.multicluster.x-k8s.io', 'cart', '-o', 'jsonpath={.spec.ips[*]}']);
      const ips = r.code === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : [];
      return ips.length > 0 ? ips : undefined;
    }, { what: `the clusterset IP of cart in ${c.name}`, timeoutMs: 90_000, intervalMs: 1000 });
  }
  return (await ok(exporter, ['-n', 'shop', 'get', 'pods', '-l', 'app=cart', '-o', 'jsonpath={.items[*].status.podIP}'])).trim().split(/\s+/).sort();
}

/** Digs from inside the pod until the answer is exactly `want` (imports and CoreDNS settle first). */
async function untilAnswered(p: TrafficPod, host: string, want: string[]): Promise<void> {
  const c = p.cluster;
  await waitFor(async () => {
    const r = await p.exec(['dig', '+short', '+time=2', '+tries=1', host, 'A']);
    return r.code === 0 && r.stdout.trim().split(/\s+/).sort().join() === [...want].sort().join() ? true : undefined;
  }, { what: `${host} answered with ${want.join(',')} in ${c.name}`, timeoutMs: 120_000, intervalMs: 1000 });
}

/**
 * A person, the way people get in: invited in the broker pod (`plexus broker user invite`),
 * logged in from outside with `plexus login` against the broker's NodePort, a kubeconfig
 * naming every agent's access proxy. Returns the kubeconfig path.
 */
async function loginPerson(d: PlexusDeployment, name: string, groups: string[], dir: string): Promise<string> {
  const inv = await d.plexusJson<{ token: string; caFingerprint: string }>(['broker', 'user', 'invite', name, ...groups.flatMap((g) => ['--group', g])]);
  await plexus(['login', '--broker', d.brokerUrl, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir]);
  const kubeconfig = path.join(dir, 'kubeconfig.yaml');
  await waitFor(async () => {
    const out = JSON.parse(await plexus(['kubeconfig', '--output', kubeconfig, '--config-dir', dir, '--format', 'json'])) as { contexts: string[] };
    return out.contexts.length === d.agents.length ? true : undefined;
  }, { what: `kubeconfig of ${name} naming every cluster`, timeoutMs: 60_000, intervalMs: 1000 });
  return kubeconfig;
}

/** A person's `kubectl get configmaps -w` through one agent's access proxy, kept open. */
class ProxiedWatch {
  readonly context: string;
  readonly #child: ChildProcess;
  seen = '';
  constructor(kubeconfig: string, cacheDir: string, context: string) {
    this.context = context;
    this.#child = spawn(kubectlBin, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '--context', context,
      'get', 'configmaps', '-n', 'team', '-w', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout!.on('data', (d: Buffer) => { this.seen += d.toString(); });
    this.#child.stderr!.on('data', (d: Buffer) => { this.seen += `stderr: ${d.toString()}`; });
  }
  get open(): boolean { return this.#child.exitCode === null && this.#child.signalCode === null; }
  has(name: string): boolean { return this.seen.includes(`configmap/${name}\n`); }
  close(): void { this.#child.kill(); }
}

describe('real nodes: certificate rotation and a CA rollover with Plexus as pods, under traffic', () => {
  const lab = useClusters(2, { nodes: true, serviceCidrs: ['10.96.0.0/16', '10.97.0.0/16'] });
  const c = (i: number) => lab.cluster(i);
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-nodes-rotation-'));
  let mesh: PlexusDeployment;
  const traffic: TrafficPod[] = [];
  const watches: ProxiedWatch[] = [];
  let kubeconfig = '';
  let configMaps = 0;

  /** Creates a ConfigMap in cluster `i` and waits until the watch through that cluster's proxy shows it. */
  async function watchedChange(i: number): Promise<void> {
    const name = `cm-${++configMaps}`;
    await c(i).client(CoreV1Api).createNamespacedConfigMap({ namespace: 'team', body: { metadata: { name } } });
    const w = watches[i]!;
    await waitFor(async () => (w.has(name) ? true : undefined), {
      what: `${name} on the watch through ${w.context}`, timeoutMs: 60_000, intervalMs: 100,
      failFast: () => (w.open ? undefined : new Error(`the watch through ${w.context} ended: ${w.seen.slice(-500)}`)),
    });
  }

  // The operator's way: the CLI in the broker pod, which finds the data dir and admin identity on its volume.
  const caStatus = () => mesh.plexusJson<CaStatus>(['broker', 'ca', 'status']);
  const rotate = (phase: number, force = false) =>
    mesh.plexusJson<CaRotateResponse>(['broker', 'ca', 'rotate', '--phase', String(phase), ...(force ? ['--force'] : [])]);
  /** Sum of the agent's metric lines that start with `prefix`, read in its pod (no dependence on the kubelet's log files). */
  const agentMetric = async (i: number, prefix: string): Promise<number> => {
    const text = await ok(c(i), ['-n', 'plexus-system', 'exec', 'deploy/plexus-agent', '-c', 'agent', '--', 'node', '-e',
      "fetch('http://127.0.0.1:9090/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
    return text.split('\n').filter((l) => l.startsWith(prefix)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  };
  const rotations = (i: number, outcome: string) => agentMetric(i, `plexus_agent_certificate_rotations_total{outcome="${outcome}"}`);
  const onlyPeopleLag = (s: CaStatus) => s.lagging.every((l) => l.startsWith('people') || l.startsWith('person'));

  beforeAll(async () => {
    mesh = await deployPlexus(lab.set, {
      brokerArgs: [`--cluster-cert-lifetime=${LIFETIME_S}s`],
      agentArgs: ['--trust-bundle-refresh=1000'],
      // At load 40-100 on the 2-core machine an agent took over 3 min to become Ready.
      timeoutMs: 600_000,
    });
    for (const i of [0, 1]) {
      await ok(c(i), ['create', 'namespace', 'shop']);
      await ok(c(i), ['create', 'namespace', 'team']);
      const rbac = c(i).client(RbacAuthorizationV1Api);
      await rbac.createClusterRole({ body: { metadata: { name: 'plexus-e2e-read' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }] } });
      await rbac.createClusterRoleBinding({ body: {
        metadata: { name: 'plexus-dev-read' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plexus-e2e-read' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }],
      } });
    }
    await serveCart(c(0));
    kubeconfig = await loginPerson(mesh, 'dana', ['dev'], path.join(home, 'dana'));
    for (const i of [0, 1]) {
      const targets = [];
      for (const name of ['cart', 'cart-pods']) {
        const answers = await expectedAnswers(c(i), c(0), name);
        targets.push({ host: `${name}.shop.svc.clusterset.local`, answers, port: 8080, connectTo: name === 'cart' ? 'name' as const : 'answer' as const });
      }
      // The record starts once the names answer as expected from inside the pod.
      const p = await TrafficPod.create(c(i), { namespace: 'shop', name: `client-${i + 1}`, targets });
      for (const t of targets) await untilAnswered(p, t.host, t.answers);
      await p.go();
      traffic.push(p);
    }
    for (const i of [0, 1]) watches.push(new ProxiedWatch(kubeconfig, path.join(home, `cache-${i}`), `plexus-${c(i).name}`));
    for (const i of [0, 1]) await watchedChange(i);
  }, 1_500_000);

  afterAll(async (suite) => {
    for (const w of watches) w.close();
    rmSync(home, { recursive: true, force: true });
    // Before the lab stops (useClusters' hook runs after this one): what the pods said.
    if (mesh && anyFailed(suite as SuiteLike)) console.error(`[real-nodes-rotation] diagnostics: ${await mesh.saveLogs()}`);
  });

  it(`renews every agent's certificate ${ROTATIONS} times while client pods and proxied watches see zero failures`, async () => {
    // The counters first, then the serials: a renewal between the two reads then counts in
    // the counter's difference but not as a new serial, never the other way round (read the
    // other way, a renewal in between was a new serial the counter's difference missed).
    const renewedBefore = await Promise.all([0, 1].map((i) => rotations(i, 'success')));
    const serials = [new Set([await storedSerial(c(0))]), new Set([await storedSerial(c(1))])];
    const started = Date.now();
    while (serials.some((s) => s.size - 1 < ROTATIONS)) {
      if (Date.now() - started > 8 * LIFETIME_S * 1000) throw new Error(`rotations per agent after ${8 * LIFETIME_S} s: ${serials.map((s) => s.size - 1).join(', ')}`);
      for (const i of [0, 1]) await watchedChange(i);
      for (const i of [0, 1]) serials[i]!.add(await storedSerial(c(i)));
    }
    const tallies = await Promise.all(traffic.map((t) => t.tally()));
    console.info(`[real-nodes-rotation] rotations per agent: ${serials.map((s) => s.size - 1).join(', ')} in ${Math.round((Date.now() - started) / 1000)} s; `
      + `requests so far: ${tallies.map((t, i) => `client-${i + 1} ${JSON.stringify(t.made)}`).join('; ')}; watch events ${configMaps}`);
    expect(tallies.flatMap((t) => t.failures)).toEqual([]);
    expect(watches.every((w) => w.open)).toBe(true);
    for (const i of [0, 1]) {
      expect(await rotations(i, 'success') - renewedBefore[i]!).toBeGreaterThanOrEqual(ROTATIONS);
      expect(await rotations(i, 'failure')).toBe(0);
      expect(await rotations(i, 'refused')).toBe(0);
      expect(await agentMetric(i, 'plexus_agent_broker_connected')).toBe(1);
    }
  }, 600_000);

  it('takes the CA through all five rollover phases, run in the broker pod, while client pods and proxied watches see zero failures', async () => {
    const times: Record<string, number> = {};
    const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try { return await f(); } finally { times[what] = Date.now() - t0; }
    };
    const settled = async (what: string, test: (s: CaStatus) => boolean) =>
      waitFor(async () => { const s = await caStatus(); return test(s) ? s : undefined; }, { what, timeoutMs: 120_000, intervalMs: 1000 });

    const newFp = await timed('phase 1 (new root in the bundle)', async () => (await rotate(1)).status.roots.find((r) => r.role === 'new')!.fingerprint);
    await timed('agents take the two-root bundle', () => settled('both agents have the new bundle', (s) => s.clusters.length === 2 && s.clusters.every((x) => x.hasBundle) && onlyPeopleLag(s)));
    for (const i of [0, 1]) await watchedChange(i);
    await timed('phase 2 (forced past the people wait only)', () => rotate(2, true));
    await timed('phase 3 (issue from the new root)', () => rotate(3));
    await timed('agents re-issued from the new root', () => settled('both agents re-issued from the new root', (s) => s.clusters.every((x) => x.issuer === newFp) && onlyPeopleLag(s)));
    for (const i of [0, 1]) await watchedChange(i);
    await timed('phase 4 (forced past the people wait only)', () => rotate(4, true));
    const p5 = await timed('phase 5 (old root out of the bundle)', () => rotate(5));
    expect(p5.status.bundleFingerprints).toEqual([newFp]);
    await timed('agents drop the old root', () => settled('both agents trust only the new root', (s) => s.clusters.every((x) => x.hasBundle && !x.lagging)));
    for (const i of [0, 1]) await watchedChange(i);

    const tallies: TrafficTally[] = await Promise.all(traffic.map((t) => t.stop()));
    console.info(`[real-nodes-rotation] CA rollover phases (ms): ${JSON.stringify(times)}; `
      + `requests in all: ${tallies.map((t, i) => `client-${i + 1} ${JSON.stringify(t.made)}`).join('; ')}; `
      + `failures ${tallies.reduce((n, t) => n + t.failures.length, 0)}; watch events ${configMaps}`);
    expect(tallies.flatMap((t) => t.failures)).toEqual([]);
    for (const t of tallies) expect(t.made.connect).toBeGreaterThan(0);
    expect(watches.every((w) => w.open)).toBe(true);
    for (const i of [0, 1]) {
      expect(await rotations(i, 'failure')).toBe(0);
      expect(await rotations(i, 'refused')).toBe(0);
      expect(await agentMetric(i, 'plexus_agent_trust_bundle_roots')).toBe(1);
      expect(await agentMetric(i, 'plexus_agent_broker_connected')).toBe(1);
    }
  }, 600_000);
});
