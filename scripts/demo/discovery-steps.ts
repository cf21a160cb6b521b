// Demo steps for clusterset DNS and traffic with real pods: lookups from a pod in
// cluster-2 through its own CoreDNS, a request from that pod answered by pods in cluster-1,
// nearest-first ordering and zone hints, and failover when cluster-1 dies.
import { DiscoveryV1Api } from '@kubernetes/client-node';
import type { Cluster, ClusterSet } from '../../test/harness/index.ts';
import { exportConditions, exportService, importedSlices, addressesOf, serviceImport } from '../../test/e2e/support/objects.ts';
import { runLabPod, type LabPod } from '../../test/harness/lab-pod.ts';
import { aRecordsIn, appService, apply, digIn, echoDeployment, rolledOut } from './pods.ts';
import { detail, step, table } from './ui.ts';
import { waitFor } from '../../test/harness/wait-for.ts';

export const ZONES: Record<string, [zone: string, region: string]> = {
  'cluster-1': ['zone-a', 'region-1'], 'cluster-2': ['zone-b', 'region-1'], 'cluster-3': ['zone-c', 'region-2'],
};

/** The pod in cluster-2 every lookup and request starts from (made in dnsSteps). */
let client: LabPod | undefined;
const clientPod = (): LabPod => client ?? (() => { throw new Error('the client pod was not started'); })();

/** Which cluster a pod IP belongs to (each cluster has its own routed pod CIDR). */
function clusterOf(clusters: ClusterSet, ip: string): string {
  const prefix = (cidr: string) => cidr.split('.').slice(0, 3).join('.') + '.';
  return clusters.clusters.find((c) => c.node && ip.startsWith(prefix(c.node.podCidr)))?.name ?? '?';
}

const withCluster = (clusters: ClusterSet, ips: string[]) => ips.map((ip) => `${ip} (${clusterOf(clusters, ip)})`);

async function podIps(c: Cluster, ns: string, app: string): Promise<string[]> {
  const out = await c.kubectl(['get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'jsonpath={.items[*].status.podIP}']);
  return out.stdout.trim().split(/\s+/).filter(Boolean);
}

export async function exportSteps(clusters: ClusterSet): Promise<void> {
  const c1 = clusters.cluster('cluster-1');
  await step('Export Service shop/cart from cluster-1 (2 real pods behind it, ServiceExport)', async () => {
    await apply(c1, [echoDeployment('shop', 'cart', 'cluster-1', 2), appService('shop', 'cart')]);
    await rolledOut(c1, 'shop', 'cart');
    await exportService(c1, 'shop', 'cart');
    const conds = await waitFor(async () => {
      const cs = await exportConditions(c1, 'shop', 'cart');
      return cs.some((x) => x.type === 'Ready' && x.status === 'True') ? cs : undefined;
    }, { what: 'ServiceExport Ready', timeoutMs: 180_000 });
    detail(`pods ${(await podIps(c1, 'shop', 'cart')).join(', ')}; ${conds.map((x) => `${x.type}=${x.status} (${x.reason})`).join(', ')}`);
  });

  await step('See it imported in clusters 2 and 3 (ServiceImport, derived Service, EndpointSlices)', async () => {
    const rows: string[][] = [];
    const pods = await podIps(c1, 'shop', 'cart');
    for (const name of ['cluster-2', 'cluster-3']) {
      const c = clusters.cluster(name);
      const si = await waitFor(async () => {
        const x = await serviceImport(c, 'shop', 'cart');
        return x?.spec.ips?.length && x.status?.clusters?.length ? x : undefined;
      }, { what: `import in ${name}`, timeoutMs: 180_000 });
      const addrs = await waitFor(async () => {
        const a = addressesOf(await importedSlices(c, 'shop', 'cart'));
        return a.length === pods.length ? a : undefined;
      }, { what: `endpoints in ${name}`, timeoutMs: 180_000 });
      rows.push([name, `${si.metadata.namespace}/${si.metadata.name}`, si.spec.type, si.spec.ips!.join(','), si.status!.clusters!.map((x) => x.cluster).join(','), addrs.sort().join(', ')]);
    }
    detail(table(['cluster', 'ServiceImport', 'type', 'clusterset IP', 'from', 'ready endpoints (cluster-1 pod IPs)'], rows));
  });
}

export async function dnsSteps(clusters: ClusterSet): Promise<void> {
  await step('Look up shop/cart from a pod in cluster-2 (dig through the cluster\'s CoreDNS)', async () => {
    client = await runLabPod(clusters.cluster('cluster-2'), { namespace: 'shop', name: 'client', timeoutMs: 120_000 });
    const q = (args: string[]) => digIn(clientPod(), args);
    const a = await waitFor(async () => {
      const r = await q(['cart.shop.svc.clusterset.local', 'A']);
      return r.status === 'NOERROR' && r.answers.length ? r : undefined;
    }, { what: 'cart A through CoreDNS', timeoutMs: 180_000 });
    const srv = await q(['_http._tcp.cart.shop.svc.clusterset.local', 'SRV']);
    const txt = await q(['dns-version.clusterset.local', 'TXT']);
    const nx = await q(['nope.shop.svc.clusterset.local', 'A']);
    const server = /;; SERVER: ([^#\s]+)/.exec(a.raw)?.[1] ?? '?';
    detail(table(['query (from pod shop/client in cluster-2)', 'answer'], [
      ['cart.shop.svc.clusterset.local A', a.answers.map((x) => x[4]).join(', ')],
      ['_http._tcp.cart.shop… SRV', srv.answers.map((x) => x.slice(4).join(' ')).join(', ')],
      ['dns-version.clusterset.local TXT', txt.answers.map((x) => x[4]).join(' ')],
      ['nope.shop.svc.clusterset.local A', nx.status],
    ]));
    detail(`answered by ${server} (kube-dns: CoreDNS forwards the clusterset.local zone to the Plexus agent)`);
  });

  await step('A pod in cluster-2 calls http://cart.shop.svc.clusterset.local: pods in cluster-1 answer', async () => {
    const seen = new Map<string, number>();
    const pods = new Set(await podIps(clusters.cluster('cluster-1'), 'shop', 'cart'));
    // kube-proxy picks an endpoint per connection: ask until both pods have answered (at most 30 requests).
    for (let i = 0; i < 30 && (i < 6 || seen.size < pods.size); i++) {
      const r = await clientPod().exec(['curl', '-sS', '-m', '5', 'http://cart.shop.svc.clusterset.local/'], { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`curl from cluster-2/shop/client failed: ${r.stderr.trim()}`);
      const who = r.stdout.trim();
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    detail(`$ kubectl exec -n shop client -- curl http://cart.shop.svc.clusterset.local/   (${total} times, in cluster-2)`);
    detail(table(['answered by', 'requests'], [...seen].sort().map(([who, n]) => [who, String(n)])));
    detail('cluster-2\'s CoreDNS → Plexus agent → clusterset IP → kube-proxy → a pod IP in cluster-1 (routed pod network)');
  });
}

/** Headless `db` and ClusterSetIP `web` exported from all three clusters, one real pod each. */
async function exportEverywhere(clusters: ClusterSet): Promise<void> {
  await Promise.all(clusters.clusters.map(async (c) => {
    await apply(c, [echoDeployment('shop', 'echo', c.name, 1), appService('shop', 'db', { app: 'echo', headless: true }), appService('shop', 'web', { app: 'echo' })]);
    await rolledOut(c, 'shop', 'echo');
    await exportService(c, 'shop', 'db');
    await exportService(c, 'shop', 'web');
  }));
}

export async function nearestStep(clusters: ClusterSet): Promise<void> {
  const c2 = clusters.cluster('cluster-2');
  await step('Nearest first: ordered headless answers and zone hints, asked from cluster-2', async () => {
    await exportEverywhere(clusters);
    const order = await waitFor(async () => {
      const r = await aRecordsIn(clientPod(), 'db.shop.svc.clusterset.local');
      return r.length === 3 ? r : undefined;
    }, { what: 'db from all three clusters', timeoutMs: 180_000 });
    detail(`db.shop (headless) from cluster-2 (zone-b, region-1): ${withCluster(clusters, order).join(' → ')}`);
    detail('(local first, then other clusters by measured RTT; ties: same zone, then same region)');
    const slices = await waitFor(async () => {
      const list = (await c2.client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'shop', labelSelector: 'multicluster.kubernetes.io/service-name=web' })).items;
      const eps = list.flatMap((s) => (s.endpoints ?? []).map((e) => [withCluster(clusters, [e.addresses[0]!])[0]!, (e.hints?.forZones ?? []).map((z) => z.name).join(',')]));
      return eps.length === 3 && eps.every(([, z]) => z) ? eps : undefined;
    }, { what: 'web hints in cluster-2', timeoutMs: 180_000 });
    detail(table(['imported endpoint of web in cluster-2', 'hints.forZones'], slices.sort()));
  });
}

/** How long after cluster-1's agent pod is gone cluster-2 may still answer with cluster-1's instances (agent/topology/README.md). */
export const FAILOVER_BOUND_MS = 10_000;

/**
 * `fail` takes cluster-1 down the way the demo can undo nothing of: its agent and its
 * kube-apiserver stop. Cluster-2's answers are read from its agent's DNS Service, not
 * through CoreDNS, so its 5 s cache does not hide how fast the agent itself reacts. They are
 * read while the API server is still stopping: timed from the end of that stop (about 15 s,
 * the harness's SIGTERM grace, as a kube-apiserver with watches open does not exit sooner),
 * failover read 15–18 s when cluster-2's agent had marked cluster-1 down within a second.
 * Over the bound the step fails.
 */
export async function failoverStep(clusters: ClusterSet, agentDns: string, fail: () => Promise<{ gone: number; apiServerStopped: Promise<void> }>): Promise<void> {
  await step('Fail cluster-1 (agent and kube-apiserver stopped) and watch cluster-2 fail over', async () => {
    const ask = () => aRecordsIn(clientPod(), 'db.shop.svc.clusterset.local', agentDns);
    const before = await ask();
    const gone = (await podIps(clusters.cluster('cluster-1'), 'shop', 'echo'))[0]!;
    const t0 = performance.now();
    const { gone: agentGone, apiServerStopped } = await fail();
    apiServerStopped.catch(() => {}); // awaited below; a failure must not surface as unhandled meanwhile
    const after = await waitFor(async () => {
      const r = await ask();
      return r.length && !r.includes(gone) ? r : undefined;
    }, { what: 'cluster-1 gone from cluster-2\'s answers', timeoutMs: 90_000 });
    const now = performance.now();
    await apiServerStopped;
    const ms = now - agentGone;
    const seconds = (ms / 1000).toFixed(1);
    const total = ((now - t0) / 1000).toFixed(1);
    detail(`db.shop before: ${withCluster(clusters, before).join(' → ')}`);
    detail(`db.shop after:  ${withCluster(clusters, after).join(' → ')}`);
    detail(`(cluster-1 left cluster-2's answers ${seconds} s after its agent pod was gone, bound ${FAILOVER_BOUND_MS / 1000} s; ${total} s including scaling it away)`);
    if (ms > FAILOVER_BOUND_MS) throw new Error(`failover took ${seconds} s, over the ${FAILOVER_BOUND_MS / 1000} s bound: cluster-2 still answered db.shop with cluster-1's ${gone}`);
  });
}
