// Demo steps for clusterset DNS: lookups against cluster-2's agent, nearest-first
// ordering and zone hints, and failover when cluster-1 dies.
import { DiscoveryV1Api } from '@kubernetes/client-node';
import type { ClusterSet } from '../../test/harness/index.ts';
import { dig } from '../../test/e2e/support/dig.ts';
import { createService, exportService, setEndpoints, until } from '../../test/e2e/support/objects.ts';
import { detail, step, table } from './ui.ts';

export const ZONES: Record<string, [zone: string, region: string]> = {
  'cluster-1': ['zone-a', 'region-1'], 'cluster-2': ['zone-b', 'region-1'], 'cluster-3': ['zone-c', 'region-2'],
};

/** Headless `db` and ClusterSetIP `web` exported from all three clusters, one endpoint each. */
async function exportEverywhere(clusters: ClusterSet): Promise<void> {
  for (const [i, c] of clusters.clusters.entries()) {
    await createService(c, 'shop', 'db', { clusterIP: 'None' });
    await setEndpoints(c, 'shop', 'db', [`10.${i + 1}.5.1`]);
    await exportService(c, 'shop', 'db');
    await createService(c, 'shop', 'web');
    await setEndpoints(c, 'shop', 'web', [`10.${i + 1}.6.1`]);
    await exportService(c, 'shop', 'web');
  }
}

const aRecords = async (port: number, name: string) => (await dig('127.0.0.1', port, [name, 'A'])).answers.map((a) => a[4]!);

export async function dnsSteps(clusters: ClusterSet, dnsPort: (cluster: string) => number): Promise<void> {
  const port2 = dnsPort('cluster-2');
  await step('Look up exported services from cluster-2\'s agent (real dig, UDP)', async () => {
    const a = await until('cart A', async () => {
      const r = await dig('127.0.0.1', port2, ['cart.shop.svc.clusterset.local', 'A']);
      return r.status === 'NOERROR' && r.answers.length ? r : undefined;
    }, 30_000);
    const srv = await dig('127.0.0.1', port2, ['_http._tcp.cart.shop.svc.clusterset.local', 'SRV']);
    const txt = await dig('127.0.0.1', port2, ['dns-version.clusterset.local', 'TXT']);
    const nx = await dig('127.0.0.1', port2, ['nope.shop.svc.clusterset.local', 'A']);
    detail(table(['query', 'answer'], [
      ['cart.shop.svc.clusterset.local A', a.answers.map((x) => x[4]).join(', ')],
      ['_http._tcp.cart.shop… SRV', srv.answers.map((x) => x.slice(4).join(' ')).join(', ')],
      ['dns-version.clusterset.local TXT', txt.answers.map((x) => x[4]).join(' ')],
      ['nope.shop.svc.clusterset.local A', nx.status],
    ]));
  });

  await step('Nearest first: zone hints on ClusterSetIP slices, ordered headless answers', async () => {
    await exportEverywhere(clusters);
    const order = await until('db from all three clusters', async () => {
      const r = await aRecords(port2, 'db.shop.svc.clusterset.local');
      return r.length === 3 ? r : undefined;
    }, 60_000);
    detail(`db.shop (headless) asked in cluster-2 (zone-b, region-1): ${order.join(' → ')}  (local first, then by RTT, zone, region)`);
    const slices = await until('web hints in cluster-2', async () => {
      const list = (await clusters.cluster('cluster-2').client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'shop', labelSelector: 'multicluster.kubernetes.io/service-name=web' })).items;
      const eps = list.flatMap((s) => (s.endpoints ?? []).map((e) => [e.addresses[0]!, (e.hints?.forZones ?? []).map((z) => z.name).join(',')]));
      return eps.length === 3 && eps.every(([, z]) => z) ? eps : undefined;
    }, 60_000);
    detail(table(['imported endpoint of web in cluster-2', 'hints.forZones'], slices.sort()));
  });
}

export async function failoverStep(clusters: ClusterSet, dnsPort: (cluster: string) => number, stopAgent: (name: string) => Promise<void>): Promise<void> {
  await step('Fail cluster-1 (agent and kube-apiserver stopped) and watch cluster-2 fail over', async () => {
    const before = await aRecords(dnsPort('cluster-2'), 'db.shop.svc.clusterset.local');
    const t0 = performance.now();
    await stopAgent('cluster-1');
    await clusters.cluster('cluster-1').stopApiServer();
    const after = await until('cluster-1 gone from cluster-2\'s answers', async () => {
      const r = await aRecords(dnsPort('cluster-2'), 'db.shop.svc.clusterset.local');
      return r.includes('10.1.5.1') ? undefined : r;
    }, 30_000);
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    detail(`db.shop before: ${before.join(' → ')}\ndb.shop after:  ${after.join(' → ')}   (cluster-1 left the answers after ${seconds} s; bound 10 s)`);
  });
}
