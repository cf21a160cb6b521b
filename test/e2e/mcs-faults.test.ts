// Faults under churn, end to end: agents restarted and killed without goodbye, the broker
// restarted. After each, every cluster must hold exactly the expected objects — no lost
// update, no duplicate, no orphan — and a dead cluster's endpoints leave within the lease.
import { beforeAll, describe, expect, it } from 'vitest';
import { untilExact } from './support/faults.ts';
import { addressesOf, createService, ensureNamespace, exportService, importedSlices, sameSet, setEndpoints } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const addressSet = (round: number, n = 3) => Array.from({ length: n }, (_, i) => `10.50.${round}.${i + 1}`);

describe('faults during churn', () => {
  const fixture = useMesh({ clusters: 3, leaseDuration: '3s' });
  const mesh = () => fixture.mesh;

  async function churn(svc: string, rounds: number, fault: (round: number) => Promise<void>): Promise<string[]> {
    let last: string[] = [];
    for (let r = 1; r <= rounds; r++) {
      last = addressSet(r, 1 + (r % 4));
      await setEndpoints(mesh().cluster(0), 'faults', svc, last);
      await fault(r);
    }
    return last;
  }

  // Every test runs alone (-t) too: the namespace is made here, and a test that needs a
  // service an earlier one exported exports it itself when it is missing.
  beforeAll(async () => {
    for (const i of [0, 1, 2]) await ensureNamespace(mesh().cluster(i), 'faults');
  });
  const existed = (e: { code?: number }) => { if (e.code !== 409) throw e; };

  it('agent restarts mid-churn (exporter and importer) leave exactly the right objects', async () => {
    await createService(mesh().cluster(0), 'faults', 'orders');
    await setEndpoints(mesh().cluster(0), 'faults', 'orders', addressSet(0));
    await exportService(mesh().cluster(0), 'faults', 'orders');
    await untilExact(mesh(), mesh().cluster(1), 'faults', 'orders', { 'cluster-1': addressSet(0) }, 'ClusterSetIP');

    const final = await churn('orders', 16, async (r) => {
      if (r === 5) await mesh().stopAgent('cluster-1');
      if (r === 8) mesh().startAgent('cluster-1');
      if (r === 10) await mesh().stopAgent('cluster-2', 'SIGKILL');
      if (r === 12) mesh().startAgent('cluster-2');
    });
    for (const i of [0, 1, 2]) await untilExact(mesh(), mesh().cluster(i), 'faults', 'orders', { 'cluster-1': final }, 'ClusterSetIP');
  });

  it('a broker restart mid-churn loses no acknowledged or later write', async () => {
    await createService(mesh().cluster(0), 'faults', 'billing');
    await setEndpoints(mesh().cluster(0), 'faults', 'billing', addressSet(0));
    await exportService(mesh().cluster(0), 'faults', 'billing');
    await untilExact(mesh(), mesh().cluster(2), 'faults', 'billing', { 'cluster-1': addressSet(0) }, 'ClusterSetIP');

    const final = await churn('billing', 12, async (r) => {
      if (r === 4) await mesh().stopBroker('SIGTERM');
      if (r === 7) await mesh().startBroker();
    });
    for (const i of [0, 1, 2]) await untilExact(mesh(), mesh().cluster(i), 'faults', 'billing', { 'cluster-1': final }, 'ClusterSetIP');
  });

  it('withdraws a cluster killed without goodbye within the lease bound, and restores it when it returns', async () => {
    const created = await createService(mesh().cluster(0), 'faults', 'billing').then(() => true, (e: { code?: number }) => { existed(e); return false; });
    if (created) {
      await setEndpoints(mesh().cluster(0), 'faults', 'billing', addressSet(0));
      await exportService(mesh().cluster(0), 'faults', 'billing');
    }
    for (const i of [1, 2]) {
      await waitFor(async () => (await importedSlices(mesh().cluster(i), 'faults', 'billing', 'cluster-1')).length > 0, { what: `billing imported in cluster-${i + 1}`, timeoutMs: 120_000 });
    }
    const before = addressesOf(await importedSlices(mesh().cluster(1), 'faults', 'billing', 'cluster-1'));
    expect(before.length).toBeGreaterThan(0);
    await mesh().stopAgent('cluster-1', 'SIGKILL');
    // Lease 3 s, checked every second, then one watch event and one reconcile.
    for (const i of [1, 2]) {
      await waitFor(async () => (await importedSlices(mesh().cluster(i), 'faults', 'billing', 'cluster-1')).length === 0, { what: `cluster-1's endpoints gone from cluster-${i + 1}`, timeoutMs: 15_000 });
    }
    mesh().startAgent('cluster-1');
    for (const i of [1, 2]) {
      await waitFor(async () => sameSet(addressesOf(await importedSlices(mesh().cluster(i), 'faults', 'billing', 'cluster-1')), before), { what: `cluster-1's endpoints back in cluster-${i + 1}` });
    }
  });
});
