// kube-apiserver restarts under running agents (issue 7). The API server of an importing
// cluster stays down while its peer's endpoints change; the exporting and importing API
// servers are restarted again and again while both clusters churn. Afterwards every
// informer the agent depends on must be live again — proven by changes that can only be
// seen through each of them (local endpoints, a new ServiceExport, an imported slice
// deleted out of band) — and no object may be lost or duplicated.
import { DiscoveryV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import { dig } from './support/dig.ts';
import { untilExact } from './support/faults.ts';
import { createService, ensureNamespace, exportService, importedSlices, setEndpoints } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';

const NS = 'apis';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries a write while the API server is down; each write is idempotent (the same value again). */
async function persist(what: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (attempt > 300) throw err;
      await sleep(200);
    }
  }
}

describe('kube-apiserver restarts under the agents', () => {
  const fixture = useMesh({ clusters: 2, leaseDuration: '3s' });
  const mesh = () => fixture.mesh;
  const c = (i: number) => fixture.mesh.cluster(i);
  const want = { svc1: ['10.90.1.1'], svc2: ['10.90.2.1'], ip: ['10.90.1.100'] };
  const expectAll = async (extra: Record<string, string[]> = {}) => {
    for (const i of [0, 1]) {
      await untilExact(mesh(), c(i), NS, 'svc', { 'cluster-1': want.svc1, 'cluster-2': want.svc2 }, 'Headless', 90_000);
      await untilExact(mesh(), c(i), NS, 'ip', { 'cluster-1': want.ip }, 'ClusterSetIP', 90_000);
      for (const [svc, a] of Object.entries(extra)) await untilExact(mesh(), c(i), NS, svc, { 'cluster-2': a }, 'Headless', 90_000);
    }
  };

  // Both tests start from these exports (each runs alone with -t too).
  beforeAll(async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), NS);
    await createService(c(0), NS, 'svc', { clusterIP: 'None' });
    await createService(c(1), NS, 'svc', { clusterIP: 'None' });
    await createService(c(0), NS, 'ip');
    await setEndpoints(c(0), NS, 'svc', want.svc1);
    await setEndpoints(c(1), NS, 'svc', want.svc2);
    await setEndpoints(c(0), NS, 'ip', want.ip);
    await exportService(c(0), NS, 'svc');
    await exportService(c(1), NS, 'svc');
    await exportService(c(0), NS, 'ip');
  });

  it('an importer whose API server was down for a while catches up, and its informers are live again', async () => {
    await expectAll();

    await c(1).stopApiServer();
    const downAt = Date.now();
    // Changes in cluster-1 reach the broker (cluster-1 imports its own export back) but not cluster-2.
    for (const round of [1, 2, 3]) {
      want.svc1 = [`10.90.1.${10 + round}`, `10.90.1.${20 + round}`];
      await setEndpoints(c(0), NS, 'svc', want.svc1);
    }
    want.ip = ['10.90.1.101'];
    await setEndpoints(c(0), NS, 'ip', want.ip);
    await untilExact(mesh(), c(0), NS, 'svc', { 'cluster-1': want.svc1, 'cluster-2': want.svc2 }, 'Headless');
    // DNS in cluster-2 keeps answering while its API server is away.
    const { host, port } = mesh().dnsAddress('cluster-2');
    const answer = await dig(host, port, [`svc.${NS}.svc.clusterset.local`, 'A']);
    expect(answer.status).toBe('NOERROR');
    expect(answer.answers.length).toBeGreaterThan(0);
    while (Date.now() - downAt < 15_000) await sleep(500);
    await c(1).startApiServer();
    const upAt = Date.now();
    await expectAll();
    const caughtUpMs = Date.now() - upAt;

    // Each informer of the cluster-2 agent is watching again:
    // its imported EndpointSlices (one deleted out of band comes back),
    const slice = (await importedSlices(c(1), NS, 'svc', 'cluster-1'))[0]!;
    await c(1).client(DiscoveryV1Api).deleteNamespacedEndpointSlice({ namespace: NS, name: slice.metadata!.name! });
    // its local EndpointSlices (a change is exported) and ServiceExports (a new export arrives).
    want.svc2 = ['10.90.2.2', '10.90.2.3'];
    await setEndpoints(c(1), NS, 'svc', want.svc2);
    await createService(c(1), NS, 'fresh', { clusterIP: 'None' });
    await setEndpoints(c(1), NS, 'fresh', ['10.90.2.50']);
    await exportService(c(1), NS, 'fresh');
    await expectAll({ fresh: ['10.90.2.50'] });
    console.info(`[apiserver-restart] cluster-2 API server down ${upAt - downAt} ms; exact again ${caughtUpMs} ms after it returned`);
  }, 240_000);

  it('API servers of both clusters restarted repeatedly during churn: nothing lost, nothing duplicated', async () => {
    // 'fresh' is the first test's (exported while an API server was down); alone, this test makes it.
    const existed = (e: { code?: number }) => { if (e.code !== 409) throw e; };
    await createService(c(1), NS, 'fresh', { clusterIP: 'None' }).catch(existed);
    await setEndpoints(c(1), NS, 'fresh', ['10.90.2.50']);
    await exportService(c(1), NS, 'fresh').catch(existed);
    await expectAll({ fresh: ['10.90.2.50'] });
    let churning = true;
    let round = 0;
    const churn = (async () => {
      while (churning) {
        round++;
        const svc1 = [`10.90.1.${30 + (round % 50)}`];
        const svc2 = [`10.90.2.${30 + (round % 50)}`, `10.90.2.${130 + (round % 50)}`];
        await Promise.all([
          persist(() => setEndpoints(c(0), NS, 'svc', svc1)).then(() => { want.svc1 = svc1; }),
          persist(() => setEndpoints(c(1), NS, 'svc', svc2)).then(() => { want.svc2 = svc2; }),
        ]);
        await sleep(150);
      }
    })();
    const restart = async (cluster: Cluster, times: number) => {
      for (let n = 0; n < times; n++) {
        await sleep(1000);
        await cluster.restartApiServer();
      }
    };
    const started = Date.now();
    await Promise.all([restart(c(0), 2), restart(c(1), 2)]);
    churning = false;
    await churn;
    const restartsMs = Date.now() - started;
    const settled = Date.now();
    await expectAll({ fresh: ['10.90.2.50'] });
    console.info(`[apiserver-restart] 4 API-server restarts and ${round} churn rounds in ${restartsMs} ms; exact ${Date.now() - settled} ms after the churn stopped`);
  }, 240_000);
});
