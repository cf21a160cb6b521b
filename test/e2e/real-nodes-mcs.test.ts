// Multi-cluster services with real pods: Plexus deployed from its image with kustomize into
// three real-node clusters (test/harness/plexus-deploy.ts), and real traffic. A pod in
// cluster-2 resolves `cart.shop.svc.clusterset.local` through its own CoreDNS (stub domain
// to the agent) and reaches pods in cluster-1 and cluster-3 through kube-proxy; headless
// and StatefulSet per-host names resolve to the pods' IPs. Needs root, `npm run
// nodes:install` and buildah (the image is built by scripts/plexus-image.sh when the tree
// changed); runs with `npm run test:nodes`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusters, waitFor } from '../harness/index.ts';
import type { Cluster, ClusterSet } from '../harness/index.ts';
import { LAB_TOOLS_IMAGE, runLabPod } from '../harness/lab-pod.ts';
import type { LabPod } from '../harness/lab-pod.ts';
import { deployPlexus } from '../harness/plexus-deploy.ts';
import type { PlexusDeployment } from '../harness/plexus-deploy.ts';

const NS = 'shop';

/** An HTTP server pod template answering "<app> in <cluster> <hostname>". */
function httpdTemplate(app: string, cluster: string): object {
  return {
    metadata: { labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'httpd', image: LAB_TOOLS_IMAGE, imagePullPolicy: 'Never',
        command: ['sh', '-c', `mkdir -p /tmp/www && echo "${app} in ${cluster} $(hostname)" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }],
    },
  };
}

function cartManifests(cluster: string): string {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart', namespace: NS },
      spec: { replicas: 1, selector: { matchLabels: { app: 'cart' } }, template: httpdTemplate('cart', cluster) } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'cart', namespace: NS },
      spec: { selector: { app: 'cart' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceExport', metadata: { name: 'cart', namespace: NS } },
  ].map((o) => JSON.stringify(o)).join('\n---\n');
}

function dbManifests(cluster: string): string {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: NS },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: NS },
      spec: { serviceName: 'db', replicas: 2, podManagementPolicy: 'Parallel', selector: { matchLabels: { app: 'db' } }, template: httpdTemplate('db', cluster) } },
    { apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceExport', metadata: { name: 'db', namespace: NS } },
  ].map((o) => JSON.stringify(o)).join('\n---\n');
}

async function kubectlOk(cluster: Cluster, args: string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${cluster.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `dig +short` through the pod's resolver (its resolv.conf: the cluster's kube-dns). */
async function dig(pod: LabPod, name: string, type = 'A'): Promise<string[]> {
  const r = await pod.exec(['dig', '+short', '+time=2', '+tries=1', name, type], { timeoutMs: 15_000 });
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

describe('real nodes: Plexus deployed with kustomize, multi-cluster services with real pods', () => {
  let set: ClusterSet;
  let plexus: PlexusDeployment;
  let client: LabPod;
  let failed = false;

  // Generous: on the shared 2-core machine with four other labs running, three clusters plus
  // the deploy took over 10 minutes once (alone they take about 3).
  beforeAll(async () => {
    try {
      set = await startClusters(3, { nodes: true });
      plexus = await deployPlexus(set);
      const [c1, , c3] = set.clusters as [Cluster, Cluster, Cluster];
      await Promise.all([c1, c3].map((c) => kubectlOk(c, ['apply', '-f', '-'], cartManifests(c.name))));
      await kubectlOk(c1, ['apply', '-f', '-'], dbManifests(c1.name));
      client = await runLabPod(set.clusters[1]!, { namespace: NS, name: 'client' });
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 1_500_000);

  afterAll(async () => {
    if (plexus) {
      // The figures this deploy took (reported, never asserted): phases and pod memory per cluster.
      const memory = plexus.podMemoryBytes().map((m) => `${m.cluster} ${m.bytes === undefined ? '?' : Math.round(m.bytes / 2 ** 20)} MiB`);
      console.log(`[real-nodes-mcs] image ${plexus.image.ref}; deploy ms: ${JSON.stringify(plexus.timings)}; pod memory: ${memory.join(', ')}`);
    }
    if (failed && plexus) await plexus.saveLogs().catch(() => undefined);
    await set?.stop(failed ? { saveLogsTo: 'test-results/real-nodes-mcs-logs' } : {});
  }, 120_000);

  const step = (name: string, fn: () => Promise<void>, timeoutMs = 120_000): void => {
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw err;
      }
    }, timeoutMs);
  };

  step('the broker and every agent run from the image as pods: uid 1000, read-only root, no capabilities, no privilege escalation', async () => {
    const check = 'const fs=require("fs");let ro=false;try{fs.writeFileSync("/probe","x")}catch(e){ro=e.code==="EROFS"}'
      + 'const s=fs.readFileSync("/proc/self/status","utf8");'
      + 'console.log(JSON.stringify({uid:process.getuid(),gid:process.getgid(),ro,capEff:/CapEff:\\s*(\\S+)/.exec(s)[1],noNewPrivs:/NoNewPrivs:\\s*(\\S+)/.exec(s)[1]}))';
    const want = { uid: 1000, gid: 1000, ro: true, capEff: '0000000000000000', noNewPrivs: '1' };
    const broker = await plexus.broker.cluster.kubectl(['-n', 'plexus-broker', 'exec', 'deploy/plexus-broker', '-c', 'broker', '--', 'node', '-e', check]);
    expect(JSON.parse(broker.stdout)).toEqual(want);
    for (const a of plexus.agents) {
      const pod = await a.agentPod();
      const r = await a.kubectl(['-n', 'plexus-system', 'exec', pod, '-c', 'agent', '--', 'node', '-e', check]);
      expect(JSON.parse(r.stdout), a.name).toEqual(want);
      const image = await kubectlOk(a.cluster, ['-n', 'plexus-system', 'get', 'pod', pod, '-o', 'jsonpath={.spec.containers[0].image} {.spec.serviceAccountName}']);
      expect(image.trim()).toBe(`${plexus.image.ref} plexus-agent`);
      // The identity the init container stored (--in-cluster), from the token in the Secret plexus-join.
      const secret = await kubectlOk(a.cluster, ['-n', 'plexus-system', 'get', 'secret', 'plexus-agent-identity', '-o', 'jsonpath={.type}']);
      expect(secret.trim()).toBe('kubernetes.io/tls');
    }
    const list = await plexus.plexusJson<{ clusters: { id: string; state: string }[] }>(['broker', 'cluster', 'list']);
    expect(list.clusters.map((c) => `${c.id}=${c.state}`).sort()).toEqual(['cluster-1=active', 'cluster-2=active', 'cluster-3=active']);
  });

  step('a pod in cluster-2 resolves cart.shop.svc.clusterset.local (nslookup) through its CoreDNS to the clusterset IP', async () => {
    const c2 = plexus.cluster(1);
    const ip = await waitFor(async () => (await kubectlOk(c2.cluster, ['-n', NS, 'get', 'serviceimport', 'cart', '-o', 'jsonpath={.spec.ips[0]}'])).trim() || undefined,
      { what: 'ServiceImport shop/cart with an IP in cluster-2', timeoutMs: 60_000, intervalMs: 500 });
    const out = await waitFor(async () => {
      const r = await client.exec(['nslookup', 'cart.shop.svc.clusterset.local'], { timeoutMs: 15_000 });
      return r.code === 0 && r.stdout.includes(ip) ? r.stdout : undefined;
    }, { what: 'nslookup cart.shop.svc.clusterset.local in cluster-2', timeoutMs: 60_000, intervalMs: 500 });
    expect(out).toMatch(new RegExp(`Server:\\s+${c2.clusterDnsIp.replaceAll('.', '\\.')}\\b`));   // the cluster's own CoreDNS
    expect(await dig(client, 'cart.shop.svc.clusterset.local')).toEqual([ip]);
  });

  step('curl by that name from cluster-2 is answered by the cart pods of cluster-1 and of cluster-3', async () => {
    const seen = new Set<string>();
    await waitFor(async () => {
      const r = await client.exec(['curl', '-sS', '-m', '3', 'http://cart.shop.svc.clusterset.local/'], { timeoutMs: 15_000 });
      const m = /^cart in (cluster-\d)\b/.exec(r.stdout);
      if (m) seen.add(m[1]!);
      return seen.has('cluster-1') && seen.has('cluster-3') ? true : undefined;
    }, { what: 'answers from both cluster-1 and cluster-3', timeoutMs: 90_000, intervalMs: 100 });
    expect([...seen].sort()).toEqual(['cluster-1', 'cluster-3']);
  });

  step('the clusterset IP itself carries traffic (kube-proxy in cluster-2)', async () => {
    const ip = (await kubectlOk(plexus.cluster(1).cluster, ['-n', NS, 'get', 'serviceimport', 'cart', '-o', 'jsonpath={.spec.ips[0]}'])).trim();
    const r = await waitFor(async () => {
      const x = await client.exec(['curl', '-sS', '-m', '3', `http://${ip}:80/`], { timeoutMs: 15_000 });
      return x.code === 0 ? x.stdout : undefined;
    }, { what: `curl http://${ip}/ from cluster-2`, timeoutMs: 30_000, intervalMs: 250 });
    expect(r).toMatch(/^cart in cluster-[13] /);
  });

  step('the headless db.shop.svc.clusterset.local resolves to the pod IPs of the StatefulSet in cluster-1', async () => {
    const c1 = plexus.cluster(0).cluster;
    const podIps = await waitFor(async () => {
      const out = await kubectlOk(c1, ['-n', NS, 'get', 'pods', '-l', 'app=db', '-o', 'jsonpath={range .items[*]}{.status.podIP}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
      const ready = out.split('\n').map((l) => l.trim().split(' ')).filter(([ip, r]) => ip && r === 'True').map(([ip]) => ip!);
      return ready.length === 2 ? ready : undefined;
    }, { what: 'two Ready db pods in cluster-1', timeoutMs: 60_000, intervalMs: 500 });
    await waitFor(async () => (sameSet(await dig(client, 'db.shop.svc.clusterset.local'), podIps) ? true : undefined),
      { what: `db.shop.svc.clusterset.local → ${podIps.join(',')}`, timeoutMs: 60_000, intervalMs: 500 });
    const r = await client.exec(['curl', '-sS', '-m', '3', 'http://db.shop.svc.clusterset.local:8080/'], { timeoutMs: 15_000 });
    expect(r.stdout).toMatch(/^db in cluster-1 db-[01]$/m);
  });

  step('each StatefulSet pod has <hostname>.cluster-1.db.shop.svc.clusterset.local, resolving to its own IP', async () => {
    const c1 = plexus.cluster(0).cluster;
    for (const host of ['db-0', 'db-1']) {
      const ip = (await kubectlOk(c1, ['-n', NS, 'get', 'pod', host, '-o', 'jsonpath={.status.podIP}'])).trim();
      await waitFor(async () => (sameSet(await dig(client, `${host}.cluster-1.db.shop.svc.clusterset.local`), [ip]) ? true : undefined),
        { what: `${host}.cluster-1.db.shop.svc.clusterset.local → ${ip}`, timeoutMs: 30_000, intervalMs: 500 });
      const r = await client.exec(['curl', '-sS', '-m', '3', `http://${host}.cluster-1.db.shop.svc.clusterset.local:8080/`], { timeoutMs: 15_000 });
      expect(r.stdout.trim()).toBe(`db in cluster-1 ${host}`);
    }
  });
});
