// Demo steps for the RBAC baseline and kubectl through one shared identity.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterSet } from '../../test/harness/index.ts';
import { resolveBinaries } from '../../test/harness/binaries.ts';
import { plexus } from '../../test/support/plexus-process.ts';
import type { Admin } from './deploy-steps.ts';
import { detail, step, table } from './ui.ts';
import { waitFor } from '../../test/harness/wait-for.ts';

const run = promisify(execFile);

const baseline = {
  apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'demo-pod-reader' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'demo-dev-pod-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'demo-pod-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }] },
  ],
};

export async function accessSteps(work: string, admin: Admin, clusters: ClusterSet): Promise<void> {
  const adminJson = async <T>(args: string[]) => JSON.parse(await admin([...args, '--output', 'json'])) as T;
  await step('Apply an RBAC baseline at the broker (group plexus:dev may read pods)', async () => {
    const file = path.join(work, 'baseline.json');
    writeFileSync(file, JSON.stringify(baseline));
    const applied = await adminJson<{ revision: number }>(['broker', 'rbac', 'apply', '-f', file]);
    const status = await waitFor(async () => {
      const s = await adminJson<{ clusters: { cluster: string; appliedRevision: number | null; compliant: boolean; driftCount?: number }[] }>(['broker', 'status']);
      return s.clusters.length === 3 && s.clusters.every((c) => c.compliant) ? s : undefined;
    }, { what: 'every cluster compliant', timeoutMs: 180_000 });
    detail(`baseline revision ${applied.revision}; applied with server-side apply (field manager plexus) in:`);
    detail(table(['cluster', 'applied revision', 'compliant'], status.clusters.map((c) => [c.cluster, String(c.appliedRevision), c.compliant ? 'yes' : 'no'])));
  });

  const home = path.join(work, 'alice');
  mkdirSync(home, { recursive: true });
  await step('Invite alice (group dev) and log in: key made locally, only a CSR sent', async () => {
    const inv = await adminJson<{ token: string; caFingerprint: string; broker: string }>(['broker', 'user', 'invite', 'alice', '--group', 'dev', '--ttl', '15m']);
    await plexus(['login', '--broker', inv.broker, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', home]);
    detail('alice holds spiffe://demo.plexus.local/user/alice with O=dev, issued by the shared root (8 h)');
  });

  const kubeconfig = path.join(home, 'kubeconfig.yaml');
  await step('Write one kubeconfig with a context per cluster (each via that cluster\'s access proxy)', async () => {
    const out = await waitFor(async () => {
      const r = JSON.parse(await plexus(['kubeconfig', '--output', kubeconfig, '--config-dir', home, '--format', 'json'])) as { contexts: string[] };
      return r.contexts.length === 3 ? r : undefined;
    }, { what: 'three contexts', timeoutMs: 180_000 });
    detail(`${kubeconfig}: ${out.contexts.join(', ')}`);
  });

  await step('Real kubectl through the proxies: the same answers in every cluster', async () => {
    const kubectl = resolveBinaries().kubectl;
    const ask = async (ctx: string, args: string[]) => {
      const r = await run(kubectl, ['--kubeconfig', kubeconfig, '--context', ctx, ...args]).catch((e: { stdout?: string; stderr?: string }) => e);
      return (r.stdout || r.stderr || '').trim().split('\n')[0]!;
    };
    const rows: string[][] = [];
    for (const c of clusters.clusters) {
      const ctx = `plexus-${c.name}`;
      const whoami = await run(kubectl, ['--kubeconfig', kubeconfig, '--context', ctx, 'auth', 'whoami', '-o', 'json']);
      const who = JSON.parse(whoami.stdout) as { status: { userInfo: { username: string } } };
      rows.push([ctx, who.status.userInfo.username, await ask(ctx, ['auth', 'can-i', 'list', 'pods', '-A']), await ask(ctx, ['auth', 'can-i', 'delete', 'pods', '-n', 'default']), await ask(ctx, ['auth', 'can-i', 'get', 'secrets', '-A'])]);
    }
    detail(table(['context', 'user', 'list pods', 'delete pods', 'get secrets'], rows));
  });
}
