// CA rollover end to end: two real control planes, a real broker process and two real
// `plexus agent run` processes, driven through the real CLI (`plexus broker ca rotate`,
// `ca status`). Through all five phases, clusterset DNS keeps answering without a single
// failure, services exported mid-rollover and after it are imported, agents take the new
// bundle and renew from the new root by themselves, and a person's kubectl works through
// both access proxies at every phase (renewing as people do).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaRotateResponse, CaStatus } from '../../broker/api/ca.ts';
import { plexus, runPlexus } from '../support/plexus-process.ts';
import { dig, rdata } from './support/dig.ts';
import { createService, ensureNamespace, exportService, serviceImport, setEndpoints } from './support/objects.ts';
import { kubectlAs, loginPerson, type Person } from './support/people.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('CA rollover across a running mesh', () => {
  const fixture = useMesh({ clusters: 2, agentArgs: () => ['--trust-bundle-refresh', '200'] });
  const m = () => fixture.mesh;
  const c = (i: number) => fixture.mesh.cluster(i);
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-e2e-ca-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const admin = () => ['--data-dir', m().brokerDir, '--output', 'json'];
  const status = async () => JSON.parse(await plexus(['broker', 'ca', 'status', ...admin()])) as CaStatus;
  const rotate = async (phase: number, force = false) =>
    JSON.parse(await plexus(['broker', 'ca', 'rotate', '--phase', String(phase), ...(force ? ['--force'] : []), ...admin()])) as CaRotateResponse;
  const people = (s: CaStatus) => s.lagging.every((l) => l.startsWith('people') || l.startsWith('person'));

  let alice: Person;
  /** alice's `kubectl auth can-i` through each proxy, after renewing her certificate as people do. */
  async function aliceThroughEveryProxy(): Promise<void> {
    await plexus(['login', '--renew', '--config-dir', alice.dir]);
    for (const ctx of ['plexus-cluster-1', 'plexus-cluster-2']) {
      const r = await kubectlAs(alice, ['--context', ctx, 'auth', 'can-i', 'list', 'pods']);
      expect(`${ctx}: ${r.stdout.trim()} ${r.stderr.trim()}`.trim()).toBe(`${ctx}: yes`);
    }
  }

  async function importedEverywhere(from: number, to: number, name: string, ip: string): Promise<void> {
    await createService(c(from), 'shop', name);
    await setEndpoints(c(from), 'shop', name, [ip]);
    await exportService(c(from), 'shop', name);
    await waitFor(async () => (await serviceImport(c(to), 'shop', name))?.spec.ips?.length ? true : undefined, { what: `${name} imported into cluster-${to + 1}`, timeoutMs: 60_000 });
  }

  it('keeps DNS, imports and kubectl working through phases 1-5', async () => {
    for (const i of [0, 1]) {
      await ensureNamespace(c(i), 'shop');
      const rbac = c(i).client(RbacAuthorizationV1Api);
      await rbac.createClusterRole({ body: { metadata: { name: 'plexus-e2e-pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] } });
      await rbac.createClusterRoleBinding({ body: {
        metadata: { name: 'plexus-dev-pods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plexus-e2e-pods' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }],
      } });
    }
    await importedEverywhere(0, 1, 'cart', '10.1.0.1');
    const { host, port } = m().dnsAddress('cluster-2');
    const answer = async () => rdata(await dig(host, port, ['cart.shop.svc.clusterset.local', 'A']));
    const expected = await waitFor(async () => ((await answer()).length > 0 ? answer() : undefined), { what: 'cart in cluster-2 DNS', timeoutMs: 60_000 });
    alice = await loginPerson(m(), 'alice', ['dev'], path.join(home, 'alice'));

    // DNS is asked all the time, from before phase 1 to after phase 5.
    const dns = { asked: 0, failures: [] as string[], stop: false };
    const asking = (async () => {
      while (!dns.stop) {
        const got = await answer().catch((e: unknown) => [`error ${(e as Error).message}`]);
        dns.asked++;
        if (JSON.stringify(got) !== JSON.stringify(expected)) dns.failures.push(JSON.stringify(got));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const p1 = await rotate(1);
      expect(p1.status.phase).toBe(1);
      const newFp = p1.status.roots.find((r) => r.role === 'new')!.fingerprint;
      await aliceThroughEveryProxy(); // her renewal brings the two-root bundle
      // Phase 2: both agents take the bundle by themselves; only the people wait (by time) is left.
      await waitFor(async () => {
        const s = await status();
        return s.clusters.length === 2 && s.clusters.every((x) => x.hasBundle) && people(s) ? true : undefined;
      }, { what: 'both agents to have the new bundle', timeoutMs: 60_000 });
      const refused = await runPlexus(['broker', 'ca', 'rotate', '--phase', '2', '--data-dir', m().brokerDir]);
      expect(refused.stderr).toMatch(/PLX_BROKER_CA_LAGGING/);
      await rotate(2, true);

      // Phase 3: the broker issues from the new root; both agents renew by themselves.
      await rotate(3);
      await waitFor(async () => {
        const s = await status();
        return s.clusters.every((x) => x.issuer === newFp) && people(s) ? true : undefined;
      }, { what: 'both agents re-issued from the new root', timeoutMs: 60_000 });
      await importedEverywhere(1, 0, 'pay', '10.2.0.1');
      await aliceThroughEveryProxy();
      await rotate(4, true);

      // Phase 5: the old root leaves every bundle.
      const p5 = await rotate(5);
      expect(p5.status.bundleFingerprints).toEqual([newFp]);
      await waitFor(async () => ((await status()).clusters.every((x) => x.hasBundle && !x.lagging) ? true : undefined), { what: 'both agents to drop the old root', timeoutMs: 60_000 });
      await importedEverywhere(0, 1, 'late', '10.1.0.9');
      await aliceThroughEveryProxy();
      expect(rdata(await dig(host, port, ['late.shop.svc.clusterset.local', 'A']))).toHaveLength(1);
    } finally {
      dns.stop = true;
      await asking;
    }
    expect(dns.failures).toEqual([]);
    expect(dns.asked).toBeGreaterThan(10);
    console.log(`e2e ca-rollover: ${dns.asked} DNS queries during the rollover, ${dns.failures.length} failed`);
  }, 300_000);
});
