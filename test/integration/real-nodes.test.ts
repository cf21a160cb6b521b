// Two clusters with real nodes (startClusters with `nodes`): pods run, a pod in one cluster
// reaches a pod in the other by its pod IP (routed pod networks, no masquerade), and a pod
// resolves names through its own cluster's CoreDNS behind kube-dns and kube-proxy.
// Needs root and `npm run nodes:install`; runs with `npm run test:nodes`.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/index.ts';
import { waitFor } from '../harness/index.ts';
import { useClusters } from '../harness/use-clusters.ts';

const TOOLS = 'plexus.local/lab-tools:1';

async function kubectlOk(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${cluster.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

function podManifest(name: string, command: string[]): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name, image: TOOLS, imagePullPolicy: 'Never', command }],
    },
  });
}

/** Creates a pod, waits until it is Ready, returns its pod IP. */
async function runPod(cluster: Cluster, name: string, command: string[]): Promise<string> {
  await kubectlOk(cluster, ['apply', '-f', '-'], podManifest(name, command));
  await kubectlOk(cluster, ['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=90s']);
  const ip = (await kubectlOk(cluster, ['get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
  expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  return ip;
}

function exec(cluster: Cluster, pod: string, command: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return cluster.kubectl(['exec', pod, '--', ...command], { timeoutMs: 30_000 });
}

describe('real nodes: two clusters, routed pod networks', () => {
  const lab = useClusters(2, { nodes: true, serviceCidrs: ['10.96.0.0/16', '10.97.0.0/16'], installCrds: false });

  it('each cluster has one Ready node on its own address and pod CIDR', async () => {
    const [c1, c2] = lab.clusters as [Cluster, Cluster];
    expect(c1.node?.podCidr).not.toBe(c2.node?.podCidr);
    for (const c of [c1, c2]) {
      const out = await kubectlOk(c, ['get', 'nodes', '-o', 'json']);
      const nodes = (JSON.parse(out) as { items: { metadata: { name: string }; status: { addresses: { type: string; address: string }[] } }[] }).items;
      expect(nodes.map((n) => n.metadata.name)).toEqual([c.node?.name]);
      expect(nodes[0]!.status.addresses).toContainEqual({ type: 'InternalIP', address: c.node?.ip });
    }
  });

  it('a pod in cluster-2 reaches an HTTP server pod in cluster-1 by its pod IP', async () => {
    const [c1, c2] = lab.clusters as [Cluster, Cluster];
    const serverIp = await runPod(c1, 'web', ['sh', '-c', 'mkdir -p /tmp/www && echo "served by $(hostname) in cluster-1" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www']);
    const clientIp = await runPod(c2, 'client', ['sleep', '3600']);
    expect(serverIp.startsWith(c1.node!.podCidr.split('.').slice(0, 3).join('.'))).toBe(true);
    const r = await exec(c2, 'client', ['curl', '-sS', '-m', '5', `http://${serverIp}:8080/`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('served by web in cluster-1');
    // No masquerade on the way: the server sees the client's own pod IP.
    const server = exec(c1, 'web', ['nc', '-l', '-n', '-v', '-w', '20', '9000']);
    await waitFor(async () => ((await exec(c2, 'client', ['nc', '-z', '-w', '2', serverIp, '9000'])).code === 0 ? true : undefined),
      { what: 'the listener in cluster-1 to accept', timeoutMs: 20_000, intervalMs: 250 });
    expect((await server).stderr).toMatch(new RegExp(`Connection received on ${clientIp.replaceAll('.', '\\.')} `));
  });

  it('kubectl logs and exec reach the kubelet by the node address (node names resolve nowhere)', async () => {
    const c1 = lab.cluster(0);
    const r = await c1.kubectl(['logs', 'web'], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await exec(c1, 'web', ['hostname'])).stdout.trim()).toBe('web');
  });

  it('a pod resolves kubernetes.default.svc.cluster.local through its own cluster\'s CoreDNS', async () => {
    const c2 = lab.cluster(1);
    const resolv = (await exec(c2, 'client', ['cat', '/etc/resolv.conf'])).stdout;
    expect(resolv).toMatch(/^nameserver 10\.97\.0\.10$/m);
    const answer = await waitFor(async () => {
      const r = await exec(c2, 'client', ['dig', '+time=2', '+tries=1', 'kubernetes.default.svc.cluster.local', 'A']);
      return r.code === 0 && /status: NOERROR/.test(r.stdout) ? r.stdout : undefined;
    }, { what: 'the cluster DNS to answer', timeoutMs: 30_000, intervalMs: 500 });
    expect(answer).toMatch(/^kubernetes\.default\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s+10\.97\.0\.1$/m);
    expect(answer).toMatch(/SERVER: 10\.97\.0\.10#53/);
    const web = await exec(c2, 'client', ['nslookup', 'kube-dns.kube-system.svc.cluster.local']);
    expect(web.stdout).toMatch(/Address: 10\.97\.0\.10/);
  });
});
