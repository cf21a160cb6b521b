// End to end: the central RBAC baseline across three real control planes, a real broker
// and three `plexus agent run` processes. Access is checked with the real kubectl
// (`auth can-i` impersonating plexus:* identities); drift is made with kubectl by hand.
import { describe, expect, it } from 'vitest';
import {
  applyBaseline, brokerCli, canI, clusterRole, compliance, groupRoleBinding, namespace, podReaderRole,
} from './support/rbac.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const base = [namespace('app'), podReaderRole('app'), groupRoleBinding('app', 'dev-pods', 'pod-reader', 'plexus:dev')];

describe('RBAC baseline across three clusters', () => {
  const fixture = useMesh({ clusters: 3 });
  const mesh = () => fixture.mesh;
  const all = () => mesh().clusters;
  const allCompliantAt = (revision: number) => waitFor(async () => {
    const s = await compliance(mesh());
    return s.clusters.length === 3 && s.clusters.every((c) => c.compliant && c.appliedRevision === revision) ? s : undefined;
  }, { what: `every cluster compliant at revision ${revision}`, timeoutMs: 60_000 });
  /** The base baseline in force everywhere, whether or not an earlier test applied it: each test runs alone (-t) too. */
  const baseInForce = async () => allCompliantAt(await applyBaseline(mesh(), base));

  it('gives plexus:dev read on pods in app, identically in every cluster, and nobody else', async () => {
    const rev = await applyBaseline(mesh(), base);
    await allCompliantAt(rev);
    for (const c of all()) {
      expect(await canI(c, 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])).toBe('yes');
      expect(await canI(c, 'list', 'pods', 'app', 'plexus:bob', ['plexus:ops'])).toBe('no');
      expect(await canI(c, 'delete', 'pods', 'app', 'plexus:alice', ['plexus:dev'])).toBe('no');
      expect(await canI(c, 'list', 'pods', 'default', 'plexus:alice', ['plexus:dev'])).toBe('no');
    }
  });

  it('corrects a hand edit and a deletion, and counts the drift', async () => {
    await baseInForce();
    const c = mesh().cluster(1);
    const patch = JSON.stringify({ rules: [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list', 'delete'] }] });
    expect((await c.kubectl(['patch', 'role', 'pod-reader', '-n', 'app', '--type', 'merge', '-p', patch])).code).toBe(0);
    await waitFor(async () => (await canI(c, 'delete', 'pods', 'app', 'plexus:alice', ['plexus:dev'])) === 'no' && (await canI(c, 'get', 'secrets', 'app', 'plexus:alice', ['plexus:dev'])) === 'no', { what: 'the role edit reverted' });
    expect((await c.kubectl(['delete', 'rolebinding', 'dev-pods', '-n', 'app'])).code).toBe(0);
    await waitFor(async () => (await canI(c, 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])) === 'yes', { what: 'the binding recreated' });
    const s = await waitFor(async () => {
      const st = (await compliance(mesh())).clusters.find((x) => x.cluster === c.name);
      return st && st.driftCount >= 2 ? st : undefined;
    }, { what: 'drift reported' });
    expect(s.report?.recentDrift.map((d) => `${d.action} ${d.kind}`)).toEqual(expect.arrayContaining(['modified Role', 'deleted RoleBinding']));
    expect(s.compliant).toBe(true);
  });

  it('puts back what was deleted while the agent was down, once it runs again', async () => {
    await baseInForce();
    const c = mesh().cluster(0);
    await mesh().stopAgent(c.name);
    try {
      expect((await c.kubectl(['delete', 'role', 'pod-reader', '-n', 'app'])).code).toBe(0);
      expect(await canI(c, 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])).toBe('no');
    } finally {
      mesh().startAgent(c.name);
    }
    await waitFor(async () => (await canI(c, 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])) === 'yes', { what: 'the role recreated after the restart', timeoutMs: 60_000 });
  });

  it('reports a clash with a pre-existing unlabelled object and leaves it alone; removing an object prunes it', async () => {
    const theirs = mesh().cluster(2);
    expect((await theirs.kubectl(['create', 'clusterrole', 'plexus-shared', '--verb', 'get', '--resource', 'configmaps'])).code).toBe(0);
    const rev = await applyBaseline(mesh(), [...base, clusterRole('plexus-shared', ['pods'])]);
    const s = await waitFor(async () => {
      const st = await compliance(mesh());
      return st.clusters.every((x) => x.appliedRevision === rev) ? st : undefined;
    }, { what: 'the clash reported', timeoutMs: 60_000 });
    expect(s.clusters.map((x) => [x.cluster, x.clashes, x.compliant])).toEqual([
      ['cluster-1', 0, true], ['cluster-2', 0, true], ['cluster-3', 1, false],
    ]);
    const kept = JSON.parse((await theirs.kubectl(['get', 'clusterrole', 'plexus-shared', '-o', 'json'])).stdout) as { rules: { resources: string[] }[]; metadata: { labels?: object } };
    expect(kept.rules[0]!.resources).toEqual(['configmaps']);
    expect(kept.metadata.labels).toBeUndefined();
    expect((await mesh().cluster(0).kubectl(['get', 'clusterrole', 'plexus-shared'])).code).toBe(0);

    const diff = await brokerCli(mesh(), ['rbac', 'diff', '-o', 'json']);
    expect(JSON.parse(diff.stdout).clusters.find((c: { cluster: string }) => c.cluster === 'cluster-3').changes).toEqual([
      { kind: 'ClusterRole', name: 'plexus-shared', action: 'clash' },
    ]);

    const pruned = await applyBaseline(mesh(), base);
    await allCompliantAt(pruned);
    for (const i of [0, 1]) expect((await mesh().cluster(i).kubectl(['get', 'clusterrole', 'plexus-shared'])).code).not.toBe(0);
    expect((await theirs.kubectl(['get', 'clusterrole', 'plexus-shared'])).code).toBe(0);
  });

  it('targets by cluster label: clusters that stop matching are pruned', async () => {
    expect((await brokerCli(mesh(), ['cluster', 'label', 'cluster-1', 'env=prod'])).code).toBe(0);
    const rev = await applyBaseline(mesh(), base, ['--target', 'env=prod']);
    await allCompliantAt(rev);
    expect(await canI(mesh().cluster(0), 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])).toBe('yes');
    for (const i of [1, 2]) expect(await canI(mesh().cluster(i), 'list', 'pods', 'app', 'plexus:alice', ['plexus:dev'])).toBe('no');
    const s = await compliance(mesh());
    expect(s.clusters.map((c) => c.targeted)).toEqual([true, false, false]);
  });
});
