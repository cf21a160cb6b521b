// Nearest-healthy-instance answers end to end: three real control planes in zones a, b, c
// (regions r1, r2, r1), a real broker and three real agents probing each other over mTLS.
// cluster-1 and cluster-2 export the same services; cluster-3 imports them. cluster-3's
// zone traffic is hinted to cluster-1 (RTTs tie on one machine; same region decides), and
// its headless answers list cluster-1 first. When cluster-1 dies (agent SIGKILLed and its
// kube-apiserver stopped) its endpoints must leave cluster-3's zone hints and headless
// answers within 10 s, while the lease (60 s here) has not yet expired; they come back
// when it recovers. The same holds for a cluster that is cut off rather than dead (its
// agent frozen, so probes hang until they time out).
import { performance } from 'node:perf_hooks';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { MCS_GROUP, MCS_VERSION } from '../../crds/types.ts';
import { dig } from './support/dig.ts';
import {
  createService, ensureNamespace, exportConditions, exportService, importedSlices, serviceImport, setEndpoints } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const LOCATION: Record<string, [string, string]> = { 'cluster-1': ['zone-a', 'r1'], 'cluster-2': ['zone-b', 'r2'], 'cluster-3': ['zone-c', 'r1'] };
const FAILOVER_BOUND_MS = 10_000;

describe('nearest-healthy-instance answers', () => {
  const fixture = useMesh({
    clusters: 3, leaseDuration: '60s',
    agentArgs: (c) => ['--zone', LOCATION[c]![0], '--region', LOCATION[c]![1]],
  });
  const c = (i: number) => fixture.mesh.cluster(i);

  /** address → zones hinted, for the web import in cluster-3. */
  async function hints(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const s of await importedSlices(c(2), 'near', 'web')) {
      for (const e of s.endpoints ?? []) out[e.addresses[0]!] = (e.hints?.forZones ?? []).map((z) => z.name);
    }
    return out;
  }
  /** Clusters the ranking annotation of the web import in cluster-3 lists as unhealthy. */
  async function excluded(): Promise<string[]> {
    const si = await serviceImport(c(2), 'near', 'web') as unknown as { metadata: { annotations?: Record<string, string> } };
    return (JSON.parse(si.metadata.annotations?.['plexus.io/ranking'] ?? '{}') as { excluded?: string[] }).excluded ?? [];
  }
  /** Headless A answers from cluster-3's agent, in the order served. */
  async function headless(): Promise<string[]> {
    const { host, port } = fixture.mesh.dnsAddress('cluster-3');
    const r = await dig(host, port, ['+nocookie', 'db.near.svc.clusterset.local', 'A']);
    return r.answers.map((a) => a[4]!);
  }

  // web and db, exported from clusters 1 and 2, for every test: each runs alone (-t) too.
  beforeAll(async () => {
    for (const i of [0, 1, 2]) await ensureNamespace(c(i), 'near');
    for (const [i, ip] of [[0, '10.61.0.1'], [1, '10.62.0.1']] as const) {
      await createService(c(i), 'near', 'web');
      await setEndpoints(c(i), 'near', 'web', [ip]);
      await exportService(c(i), 'near', 'web');
    }
    for (const [i, ip] of [[0, '10.71.0.1'], [1, '10.72.0.1']] as const) {
      await createService(c(i), 'near', 'db', { clusterIP: 'None' });
      await setEndpoints(c(i), 'near', 'db', [ip]);
      await exportService(c(i), 'near', 'db');
    }
  });
  /** The steady state the failover tests start from: cluster-1 hinted for zone-c and first in the headless answers. */
  const nearestFirst = async () => {
    await waitFor(async () => {
      const h = await hints();
      return h['10.61.0.1']?.includes('zone-c') && h['10.62.0.1']?.includes('plexus-standby');
    }, { what: 'cluster-3 hints zone-c to cluster-1', timeoutMs: 90_000 });
    await waitFor(async () => (await headless()).join() === '10.71.0.1,10.72.0.1', { what: 'headless answers nearest first', timeoutMs: 60_000 });
  };

  it('hints cluster-3\'s zone to the nearest exporter and answers headless queries nearest first', async () => {
    await waitFor(async () => {
      const h = await hints();
      return h['10.61.0.1']?.includes('zone-c') && h['10.62.0.1']?.includes('plexus-standby');
    }, { what: 'cluster-3 hints zone-c to cluster-1', timeoutMs: 90_000 });
    const derived = (await c(2).client(CoreV1Api).listNamespacedService({ namespace: 'near', labelSelector: 'multicluster.kubernetes.io/service-name=web' })).items;
    expect(derived[0]?.spec?.trafficDistribution).toBe('PreferClose');
    const si = await serviceImport(c(2), 'near', 'web') as unknown as { metadata: { annotations?: Record<string, string> } };
    expect(JSON.parse(si.metadata.annotations?.['plexus.io/ranking'] ?? '{}')).toMatchObject({ policy: 'nearest', zone: 'zone-c', clusters: ['cluster-1', 'cluster-2'] });
    await waitFor(async () => {
      const a = await headless();
      return a.length === 2 && a[0] === '10.71.0.1';
    }, { what: 'headless answers nearest first', timeoutMs: 60_000 });
    const { host, port } = fixture.mesh.dnsAddress('cluster-3');
    const srv = await dig(host, port, ['+nocookie', '_http._tcp.db.near.svc.clusterset.local', 'SRV']);
    expect(srv.answers.map((a) => a[7])).toEqual(['db-0.cluster-1.db.near.svc.clusterset.local.', 'db-0.cluster-2.db.near.svc.clusterset.local.']);
  });

  // Dropping and bringing back are one test: the second cannot run without the first.
  it('drops a dead cluster from the hints and the headless answers within 10 s, and brings it back when it recovers', async () => {
    await nearestFirst();
    const t0 = performance.now();
    await fixture.mesh.stopAgent('cluster-1', 'SIGKILL');
    await c(0).stopApiServer();
    await waitFor(async () => {
      const h = await hints();
      return !h['10.61.0.1']?.includes('zone-c') && h['10.62.0.1']?.includes('zone-c') && (await excluded()).includes('cluster-1');
    }, { what: 'cluster-1 out of the zone hints', timeoutMs: FAILOVER_BOUND_MS });
    const hintsMs = performance.now() - t0;
    await waitFor(async () => {
      const a = await headless();
      return a.length === 1 && a[0] === '10.72.0.1';
    }, { what: 'cluster-1 out of the headless answers', timeoutMs: Math.max(1, FAILOVER_BOUND_MS - (performance.now() - t0)) });
    const dnsMs = performance.now() - t0;
    console.log(`[nearest] failover after cluster-1 died: zone hints ${Math.round(hintsMs)} ms, headless DNS ${Math.round(dnsMs)} ms (bound ${FAILOVER_BOUND_MS} ms)`);
    expect(Math.max(hintsMs, dnsMs)).toBeLessThan(FAILOVER_BOUND_MS);
    // The lease has not expired: the slices stay, only the ranking moved.
    expect(Object.keys(await hints())).toContain('10.61.0.1');

    await c(0).startApiServer();
    fixture.mesh.startAgent('cluster-1');
    await waitFor(async () => (await hints())['10.61.0.1']?.includes('zone-c'), { what: 'cluster-1 back in the zone hints', timeoutMs: 90_000 });
    await waitFor(async () => (await headless())[0] === '10.71.0.1', { what: 'cluster-1 back first in the headless answers' });
  });

  it('drops a cut-off cluster (its agent frozen: probes hang until they time out) within 10 s, and takes it back', async () => {
    await nearestFirst();
    const t0 = performance.now();
    fixture.mesh.signalAgent('cluster-1', 'SIGSTOP');
    try {
      await waitFor(async () => {
        const h = await hints();
        return !h['10.61.0.1']?.includes('zone-c') && h['10.62.0.1']?.includes('zone-c') && (await excluded()).includes('cluster-1');
      }, { what: 'frozen cluster-1 out of the zone hints', timeoutMs: FAILOVER_BOUND_MS });
      const hintsMs = performance.now() - t0;
      await waitFor(async () => (await headless()).join() === '10.72.0.1', { what: 'frozen cluster-1 out of the headless answers', timeoutMs: Math.max(1, FAILOVER_BOUND_MS - (performance.now() - t0)) });
      const dnsMs = performance.now() - t0;
      console.log(`[nearest] failover after cluster-1 was cut off: zone hints ${Math.round(hintsMs)} ms, headless DNS ${Math.round(dnsMs)} ms`);
      expect(Math.max(hintsMs, dnsMs)).toBeLessThan(FAILOVER_BOUND_MS);
    } finally {
      fixture.mesh.signalAgent('cluster-1', 'SIGCONT');
    }
    await waitFor(async () => (await hints())['10.61.0.1']?.includes('zone-c'), { what: 'thawed cluster-1 back in the zone hints' });
  });

  it('marks a ServiceExport with an unreadable policy Valid=False (InvalidPolicy)', async () => {
    await createService(c(1), 'near', 'odd');
    await c(1).client(CustomObjectsApi).createNamespacedCustomObject({ group: MCS_GROUP, version: MCS_VERSION, namespace: 'near', plural: 'serviceexports', body: {
      apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport',
      metadata: { name: 'odd', namespace: 'near', annotations: { 'plexus.io/dns-policy': 'fastest' } },
    } });
    const valid = await waitFor(async () =>
      (await exportConditions(c(1), 'near', 'odd')).find((x) => x.type === 'Valid' && x.status === 'False'), { what: 'Valid=False on the ServiceExport' });
    expect(valid.reason).toBe('InvalidPolicy');
  });
});
