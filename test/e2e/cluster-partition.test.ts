// A member cluster cut off from the clusterset (issue 7): its agent and its kube-apiserver
// are frozen with SIGSTOP, so their TCP connections stay open but nothing answers — the
// broker sees no disconnect, only missing heartbeats. Its endpoints must leave every other
// cluster (EndpointSlices and DNS) within the lease bound, and return when it is thawed;
// the thawed cluster catches up on what changed while it was away.
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import { dig, rdata } from './support/dig.ts';
import { apiServerPid, brokerLog, untilExact } from './support/faults.ts';
import { createService, ensureNamespace, exportService, importedSlices, setEndpoints } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const NS = 'part';
const LEASE_MS = 3000;
/** Lease, one lease check (1 s), one watch event and one reconcile, on a loaded 2-core machine. */
const WITHDRAW_BOUND_MS = LEASE_MS + 1000 + 6000;

describe('a member cluster cut off', () => {
  const fixture = useMesh({ clusters: 3, leaseDuration: `${LEASE_MS / 1000}s` });
  const mesh = () => fixture.mesh;
  const c = (i: number) => fixture.mesh.cluster(i);
  const eps = { 'cluster-1': ['10.95.1.1'], 'cluster-2': ['10.95.2.1', '10.95.2.2'], 'cluster-3': ['10.95.3.1'] };
  const answers = async (i: number) => {
    const { host, port } = mesh().dnsAddress(c(i).name);
    return rdata(await dig(host, port, [`db.${NS}.svc.clusterset.local`, 'A']));
  };

  function freeze(cluster: Cluster, signal: 'SIGSTOP' | 'SIGCONT'): void {
    // Thaw the API server before the agent, freeze it after, so the agent never sees it half-there.
    if (signal === 'SIGCONT') process.kill(apiServerPid(cluster), signal);
    mesh().signalAgent(cluster.name, signal);
    if (signal === 'SIGSTOP') process.kill(apiServerPid(cluster), signal);
  }

  it('withdraws its endpoints everywhere within the lease bound, and restores them when it heals', async () => {
    for (const i of [0, 1, 2]) {
      await ensureNamespace(c(i), NS);
      await createService(c(i), NS, 'db', { clusterIP: 'None' });
      await setEndpoints(c(i), NS, 'db', eps[c(i).name as keyof typeof eps]);
      await exportService(c(i), NS, 'db');
    }
    for (const i of [0, 1, 2]) await untilExact(mesh(), c(i), NS, 'db', eps, 'Headless');

    const mark = brokerLog(mesh()).mark();
    freeze(c(1), 'SIGSTOP');
    const cutAt = Date.now();
    let dnsMs: number[] = [];
    let slicesMs: number[] = [];
    try {
      const rest = { 'cluster-1': eps['cluster-1'], 'cluster-3': eps['cluster-3'] };
      const all = [...rest['cluster-1'], ...rest['cluster-3']].sort();
      // Timed per cluster, concurrently: DNS (headless answers also drop a peer whose probes
      // fail, usually before the lease runs out) and the imported EndpointSlices (the lease).
      const timeUntil = async (what: string, probe: () => Promise<boolean>) => {
        await waitFor(probe, { what, timeoutMs: WITHDRAW_BOUND_MS + 5000 });
        return Date.now() - cutAt;
      };
      [dnsMs, slicesMs] = await Promise.all([
        Promise.all([0, 2].map((i) => timeUntil(`cluster-2's endpoints gone from DNS in cluster-${i + 1}`,
          async () => JSON.stringify(await answers(i)) === JSON.stringify(all)))),
        Promise.all([0, 2].map((i) => timeUntil(`cluster-2's EndpointSlices gone from cluster-${i + 1}`,
          async () => (await importedSlices(c(i), NS, 'db', 'cluster-2')).length === 0))),
      ]);
      for (const i of [0, 2]) await untilExact(mesh(), c(i), NS, 'db', rest, 'Headless', 10_000);
      expect(Math.max(...dnsMs, ...slicesMs)).toBeLessThanOrEqual(WITHDRAW_BOUND_MS);
      // Exactly one cluster expired; the others kept heartbeating.
      const expired = brokerLog(mesh()).since(mark).filter((l) => l.msg === 'cluster lease expired; marked unavailable');
      expect(expired.map((l) => l.clusters)).toEqual([['cluster-2']]);

      // While it is away, cluster-1's endpoints change: the thawed cluster must catch up.
      eps['cluster-1'] = ['10.95.1.7', '10.95.1.8'];
      await setEndpoints(c(0), NS, 'db', eps['cluster-1']);
      await untilExact(mesh(), c(2), NS, 'db', { 'cluster-1': eps['cluster-1'], 'cluster-3': eps['cluster-3'] }, 'Headless');
      while (Date.now() - cutAt < 4 * LEASE_MS) await new Promise((r) => setTimeout(r, 200));
    } finally {
      freeze(c(1), 'SIGCONT');
    }
    const healedAt = Date.now();
    const back: number[] = [];
    for (const i of [0, 2]) {
      await untilExact(mesh(), c(i), NS, 'db', eps, 'Headless', 30_000);
      back.push(Date.now() - healedAt);
    }
    await untilExact(mesh(), c(1), NS, 'db', eps, 'Headless', 30_000);
    const caughtUpMs = Date.now() - healedAt;
    console.info(`[cluster-partition] cut off: gone from DNS in ${dnsMs.join('/')} ms, EndpointSlices in ${slicesMs.join('/')} ms (bound ${WITHDRAW_BOUND_MS} ms); `
      + `healed: back in ${back.join('/')} ms, the healed cluster exact in ${caughtUpMs} ms`);
  }, 240_000);
});
