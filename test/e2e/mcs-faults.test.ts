// Faults under churn, end to end: agents restarted and killed without goodbye, the broker
// restarted. After each, every cluster must hold exactly the expected objects — no lost
// update, no duplicate, no orphan — and a dead cluster's endpoints leave within the lease.
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  addressesOf, createService, ensureNamespace, exportService, importedSlices, sameSet, serviceImports, setEndpoints, until,
} from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import type { Mesh } from './support/mesh.ts';

const addressSet = (round: number, n = 3) => Array.from({ length: n }, (_, i) => `10.50.${round}.${i + 1}`);

/** Exactly one ServiceImport, one derived Service and the right slices for ns/svc in `cluster`. */
async function expectExactImport(mesh: Mesh, cluster: number, ns: string, svc: string, addresses: string[]): Promise<void> {
  const c = mesh.cluster(cluster);
  await until(`cluster-${cluster + 1} converged on ${addresses.length} endpoints`, async () =>
    sameSet(addressesOf(await importedSlices(c, ns, svc, 'cluster-1')), addresses), 60_000);
  const imports = (await serviceImports(c, ns)).filter((s) => s.metadata.name === svc);
  expect(imports).toHaveLength(1);
  const derived = (await c.client(CoreV1Api).listNamespacedService({ namespace: ns, labelSelector: `multicluster.kubernetes.io/service-name=${svc}` })).items;
  expect(derived).toHaveLength(1);
  expect(imports[0]!.spec.ips).toEqual(derived[0]!.spec?.clusterIPs);
  const slices = await importedSlices(c, ns, svc);
  expect(slices).toHaveLength(1);
  expect(new Set(slices.map((s) => s.metadata?.name)).size).toBe(slices.length);
}

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

  it('agent restarts mid-churn (exporter and importer) leave exactly the right objects', async () => {
    for (const i of [0, 1, 2]) await ensureNamespace(mesh().cluster(i), 'faults');
    await createService(mesh().cluster(0), 'faults', 'orders');
    await setEndpoints(mesh().cluster(0), 'faults', 'orders', addressSet(0));
    await exportService(mesh().cluster(0), 'faults', 'orders');
    await expectExactImport(mesh(), 1, 'faults', 'orders', addressSet(0));

    const final = await churn('orders', 16, async (r) => {
      if (r === 5) await mesh().stopAgent('cluster-1');
      if (r === 8) mesh().startAgent('cluster-1');
      if (r === 10) await mesh().stopAgent('cluster-2', 'SIGKILL');
      if (r === 12) mesh().startAgent('cluster-2');
    });
    for (const i of [0, 1, 2]) await expectExactImport(mesh(), i, 'faults', 'orders', final);
  });

  it('a broker restart mid-churn loses no acknowledged or later write', async () => {
    await createService(mesh().cluster(0), 'faults', 'billing');
    await setEndpoints(mesh().cluster(0), 'faults', 'billing', addressSet(0));
    await exportService(mesh().cluster(0), 'faults', 'billing');
    await expectExactImport(mesh(), 2, 'faults', 'billing', addressSet(0));

    const final = await churn('billing', 12, async (r) => {
      if (r === 4) await mesh().stopBroker('SIGTERM');
      if (r === 7) await mesh().startBroker();
    });
    for (const i of [0, 1, 2]) await expectExactImport(mesh(), i, 'faults', 'billing', final);
  });

  it('withdraws a cluster killed without goodbye within the lease bound, and restores it when it returns', async () => {
    const before = addressesOf(await importedSlices(mesh().cluster(1), 'faults', 'billing', 'cluster-1'));
    expect(before.length).toBeGreaterThan(0);
    await mesh().stopAgent('cluster-1', 'SIGKILL');
    // Lease 3 s, checked every second, then one watch event and one reconcile.
    for (const i of [1, 2]) {
      await until(`cluster-1's endpoints gone from cluster-${i + 1}`, async () => (await importedSlices(mesh().cluster(i), 'faults', 'billing', 'cluster-1')).length === 0, 15_000);
    }
    mesh().startAgent('cluster-1');
    for (const i of [1, 2]) {
      await until(`cluster-1's endpoints back in cluster-${i + 1}`, async () => sameSet(addressesOf(await importedSlices(mesh().cluster(i), 'faults', 'billing', 'cluster-1')), before), 30_000);
    }
  });
});
