// Real-node clusters whose pod networks do not route to each other and overlap (issue 17's
// lab for an east-west gateway): startClusters(n, { nodes: { podNetworks } }).
//   - two isolated clusters: both hand out pod IPs from the same pod CIDR; a pod in one
//     cannot reach the other's pods by pod IP (an address no local pod holds fails at once,
//     one a local pod holds reaches that local pod, never the remote one), but reaches the
//     other's node IP on a hostPort and a NodePort (what a gateway will listen on); DNS and
//     Services work inside each.
//   - a mixed fleet (east, east, west): the east clusters reach each other's pods directly,
//     source pod IP kept; no east pod reaches a west pod, nor the other way round.
// Each server pod answers `<pod> in <cluster> saw <client address>` (busybox httpd CGI), so
// every answer says who served it and whom it saw.
// Needs root and `npm run nodes:install`; runs with `npm run test:nodes`.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import { runLabPod } from '../harness/lab-pod.ts';
import type { LabPod } from '../harness/lab-pod.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { apply, kubectlOk, LAB_TOOLS, podDig, waitPodsReady } from './support/pods.ts';

const NS = 'net';
const HOST_PORT = 31080;
const NODE_PORT = 30080;
const SETUP_MS = 240_000;

/** A pod on :8080 (and hostPort 31080) whose /cgi-bin/who names itself, its cluster and the client address it saw; a NodePort Service in front. */
function whoServer(cluster: string): object[] {
  const script = [
    'mkdir -p /tmp/www/cgi-bin',
    'echo ok > /tmp/www/index.html',
    // CRLF after the header: busybox passes the CGI's header through, and undici (the host's fetch) wants HTTP's line ends.
    `printf '%s\\n' '#!/usr/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n"' 'echo "$(hostname) in ${cluster} saw $REMOTE_ADDR"' > /tmp/www/cgi-bin/who`,
    'busybox chmod +x /tmp/www/cgi-bin/who',                 // no chmod on the image's PATH
    'exec httpd -f -p 8080 -h /tmp/www',
  ].join(' && ');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: NS, labels: { app: 'web' } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [{
          name: 'httpd', image: LAB_TOOLS, imagePullPolicy: 'Never', command: ['sh', '-c', script],
          ports: [{ containerPort: 8080, hostPort: HOST_PORT }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
        }],
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort: NODE_PORT }] },
    },
  ];
}

async function podIp(c: Cluster, name: string): Promise<string> {
  return (await kubectlOk(c, ['-n', NS, 'get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
}

/** Every pod IP in use in a cluster (all namespaces). */
async function podIps(c: Cluster): Promise<string[]> {
  return (await kubectlOk(c, ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.status.podIP}{"\\n"}{end}'])).split('\n').filter(Boolean);
}

/** Starts the server first in every cluster (so the same address is the server's in each: host-local IPAM counts from the CIDR's start), then a client. */
async function startPods(clusters: readonly Cluster[]): Promise<{ web: string[]; clients: LabPod[] }> {
  await Promise.all(clusters.map((c) => apply(c, ...whoServer(c.name))));
  await Promise.all(clusters.map((c) => waitPodsReady(c, NS, ['pod/web'])));
  const web = await Promise.all(clusters.map((c) => podIp(c, 'web')));
  const clients = await Promise.all(clusters.map((c) => runLabPod(c, { namespace: NS, name: 'client', createNamespace: false })));
  return { web, clients };
}

async function curl(from: LabPod, url: string): Promise<{ code: number; out: string }> {
  const r = await from.exec(['curl', '-sS', '--connect-timeout', '10', '-m', '15', url], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout.trim() };
}

/** httpd listens on IPv6 too and reports an IPv4 client as `[::ffff:a.b.c.d]`. */
function plainAddresses(answer: string): string {
  return answer.replace(/\[::ffff:(\d+\.\d+\.\d+\.\d+)\]/g, '$1');
}

/** GET /cgi-bin/who until it answers (a new Service or hostPort is programmed a moment after the pod is Ready). */
async function who(from: LabPod, hostPort: string): Promise<string> {
  return waitFor(async () => {
    const r = await curl(from, `http://${hostPort}/cgi-bin/who`);
    return r.code === 0 ? plainAddresses(r.out) : undefined;
  }, { what: `${from.cluster.name}/${from.name} → ${hostPort}`, timeoutMs: 60_000, intervalMs: 500 });
}

/**
 * A try at a pod IP that must not connect, and must say why: the kernel's "No route to host"
 * (no neighbour answered, or an unreachable route), not a timeout and not a refusal from
 * some pod. OpenBSD nc prints the errno; curl only says "Couldn't connect".
 */
async function expectNoRoute(from: LabPod, ip: string, what: string): Promise<void> {
  const started = performance.now();
  const r = await from.exec(['nc', '-z', '-v', '-n', '-w', '10', ip, '8080'], { timeoutMs: 30_000 });
  const seconds = (performance.now() - started) / 1000;
  console.log(`[real-nodes-isolated] ${from.cluster.name} → ${ip}:8080 (${what}): exit ${r.code} after ${seconds.toFixed(1)} s: ${r.stderr.trim()}`);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/No route to host/);
}

/** A pod IP that `owner` uses and no pod of `others` holds. */
async function addressOnlyIn(owner: Cluster, others: readonly Cluster[]): Promise<string> {
  await runLabPod(owner, { namespace: NS, name: 'lonely', createNamespace: false });
  const ip = await podIp(owner, 'lonely');
  const elsewhere = (await Promise.all(others.map(podIps))).flat();
  expect(elsewhere, `${ip} of ${owner.name}/lonely is also a pod IP elsewhere`).not.toContain(ip);
  return ip;
}

describe('real nodes: two clusters on isolated pod networks with the same pod CIDR', () => {
  const lab = useClusters(2, { nodes: { podNetworks: 'isolated' }, serviceCidrs: ['10.96.0.0/16', '10.97.0.0/16'], installCrds: false });
  let web: string[];
  let clients: LabPod[];

  beforeAll(async () => {
    ({ web, clients } = await startPods(lab.clusters));
  }, SETUP_MS);

  it('both clusters hand out pod IPs from one pod CIDR: the same address is a pod in each', () => {
    const [c1, c2] = lab.clusters as [Cluster, Cluster];
    expect(c1.node!.podCidr).toBe(c2.node!.podCidr);
    expect(c1.node!.podNetwork).not.toBe(c2.node!.podNetwork);
    const prefix = c1.node!.podCidr.split('.').slice(0, 3).join('.');
    expect(web[0]!.startsWith(`${prefix}.`)).toBe(true);
    expect(web[1]).toBe(web[0]);
  });

  it('a pod in cluster-2 asking for a cluster-1 pod IP that a cluster-2 pod also holds reaches that local pod, never cluster-1', async () => {
    const answer = await who(clients[1]!, `${web[0]}:8080`);
    console.log(`[real-nodes-isolated] cluster-2 → ${web[0]}:8080 (cluster-1's web, also cluster-2's): ${answer}`);
    expect(answer).toMatch(/^web in cluster-2 saw /);
  });

  it('a pod in cluster-2 fails at once to reach a cluster-1 pod IP that no cluster-2 pod holds', async () => {
    const [c1, c2] = lab.clusters as [Cluster, Cluster];
    const ip = await addressOnlyIn(c1, [c2]);
    await expectNoRoute(clients[1]!, ip, 'cluster-1\'s lonely pod; no cluster-2 pod holds it');
  });

  it('a pod in cluster-2 reaches cluster-1\'s node IP on a hostPort and a NodePort (masqueraded to cluster-2\'s node IP on the way)', async () => {
    const [c1, c2] = lab.clusters as [Cluster, Cluster];
    const viaHostPort = await who(clients[1]!, `${c1.node!.ip}:${HOST_PORT}`);
    expect(viaHostPort).toBe(`web in cluster-1 saw ${c2.node!.ip}`);
    expect(await who(clients[1]!, `${c1.node!.ip}:${NODE_PORT}`)).toMatch(/^web in cluster-1 saw /);
    // And the other way round.
    expect(await who(clients[0]!, `${c2.node!.ip}:${HOST_PORT}`)).toBe(`web in cluster-2 saw ${c1.node!.ip}`);
  });

  it('the host reaches every node IP: each cluster\'s NodePort answers from that cluster', async () => {
    for (const c of lab.clusters) {
      const res = await fetch(`http://${c.node!.ip}:${NODE_PORT}/cgi-bin/who`, { signal: AbortSignal.timeout(10_000) });
      expect(plainAddresses((await res.text()).trim())).toMatch(new RegExp(`^web in ${c.name} saw `));
    }
  });

  it('cluster DNS and a Service work inside each cluster', async () => {
    for (const [i, c] of lab.clusters.entries()) {
      const clusterIp = (await kubectlOk(c, ['-n', NS, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
      const dig = await podDig(c, NS, 'client', ['web.net.svc.cluster.local', 'A']);
      expect(dig.status).toBe('NOERROR');
      expect(dig.answers.map((a) => a.at(-1))).toEqual([clusterIp]);
      expect(await who(clients[i]!, 'web.net.svc.cluster.local')).toMatch(new RegExp(`^web in ${c.name} saw `));
    }
  });
});

describe('real nodes: a mixed fleet, two clusters on network east and one on west', () => {
  const lab = useClusters(3, {
    nodes: { podNetworks: ['east', 'east', 'west'] }, serviceCidrs: ['10.96.0.0/16', '10.97.0.0/16', '10.98.0.0/16'], installCrds: false,
  });
  let web: string[];
  let clients: LabPod[];
  let clientIps: string[];

  beforeAll(async () => {
    ({ web, clients } = await startPods(lab.clusters));
    clientIps = await Promise.all(clients.map((p) => p.ip()));
  }, SETUP_MS);

  it('the east clusters have distinct pod CIDRs, and west reuses the first one', () => {
    const [c1, c2, c3] = lab.clusters as [Cluster, Cluster, Cluster];
    expect([c1, c2, c3].map((c) => c.node!.podNetwork)).toEqual(['east', 'east', 'west']);
    expect(c1.node!.podCidr).not.toBe(c2.node!.podCidr);
    expect(c3.node!.podCidr).toBe(c1.node!.podCidr);
    expect(web[2]).toBe(web[0]);
  });

  it('pods of the two east clusters reach each other directly by pod IP: the server sees the client\'s own pod IP', async () => {
    expect(await who(clients[1]!, `${web[0]}:8080`)).toBe(`web in cluster-1 saw ${clientIps[1]}`);
    expect(await who(clients[0]!, `${web[1]}:8080`)).toBe(`web in cluster-2 saw ${clientIps[0]}`);
  });

  it('neither east cluster reaches a west pod by its pod IP', async () => {
    const [c1, c2, c3] = lab.clusters as [Cluster, Cluster, Cluster];
    const ip = await addressOnlyIn(c3, [c1, c2]);
    await expectNoRoute(clients[0]!, ip, 'cluster-3\'s lonely pod (west); no cluster-1 pod holds it');
    await expectNoRoute(clients[1]!, ip, 'cluster-3\'s lonely pod (west), routed to cluster-1 where no pod holds it');
    // West's web has the address of east's web in cluster-1: asking for it reaches east, never west.
    expect(await who(clients[1]!, `${web[2]}:8080`)).toBe(`web in cluster-1 saw ${clientIps[1]}`);
  });

  it('a west pod reaches no east pod: another network\'s CIDR fails at once, its own CIDR stays local', async () => {
    await expectNoRoute(clients[2]!, web[1]!, 'cluster-2\'s web (east), a pod CIDR west has no route to');
    expect(await who(clients[2]!, `${web[0]}:8080`)).toMatch(/^web in cluster-3 saw /);
  });

  it('a west pod reaches an east node IP on a NodePort, and an east pod a west one', async () => {
    const [c1, , c3] = lab.clusters as [Cluster, Cluster, Cluster];
    expect(await who(clients[2]!, `${c1.node!.ip}:${NODE_PORT}`)).toMatch(/^web in cluster-1 saw /);
    expect(await who(clients[0]!, `${c3.node!.ip}:${HOST_PORT}`)).toBe(`web in cluster-3 saw ${c1.node!.ip}`);
  });
});
