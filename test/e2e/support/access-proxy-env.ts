// Where the access proxies under test run, for test/e2e/real-nodes-proxy: Plexus deployed
// as pods (deployPlexus: the image, `kubectl apply -k`, each proxy on its node's NodePort
// 30443, the agent's least-privilege ServiceAccount). An environment gives the suite the
// clusters, a way to apply the central RBAC baseline and wait until every cluster has it, a
// person logged in with the real CLI, and the proxy's own audit lines. Until 2026-12-03 the
// suite ran against `plexus agent run` host processes (this file's history): the same proxy
// code, without the pod's in-cluster config, NodePort and ServiceAccount, so it proved less.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { rbacComplianceResponseSchema } from '../../../broker/api/rbac.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { plexus } from '../../support/plexus-process.ts';
import { waitFor } from '../../harness/wait-for.ts';
import { kubectlOk } from './pods.ts';
import { useDeployment } from './use-deployment.ts';
import type { KubectlIdentity } from './kubectl-session.ts';

/** One line of the access proxy's audit stream (agent/proxy/server.ts). */
export interface AuditLine {
  time: number;
  audit: true;
  user?: string;
  verb?: string;
  subresource?: string;
  namespace?: string;
  decision: string;
  status: number;
  protocol?: string;
  subprotocol?: string;
}

export interface ProxyEnv {
  readonly kind: string;
  clusters(): readonly Cluster[];
  /** Applies `objects` as the baseline and waits until every cluster applied it. */
  applyBaseline(objects: unknown[]): Promise<void>;
  /** Invites `name` into `groups` and logs in under `dir`; the kubeconfig names every cluster. */
  login(name: string, groups: string[], dir: string): Promise<KubectlIdentity>;
  /** The audit lines of `c`'s proxy with time ≥ `sinceMs` (epoch ms). */
  audit(c: Cluster, sinceMs: number): Promise<AuditLine[]>;
}

const auditLines = (text: string, sinceMs: number): AuditLine[] => text.split('\n')
  .filter((l) => l.startsWith('{') && l.includes('"audit":true'))
  .map((l) => JSON.parse(l) as AuditLine)
  .filter((l) => l.time >= sinceMs);

/**
 * Plexus as pods (deployPlexus): the broker in cluster 1, an agent in each cluster, its
 * proxy at https://<node IP>:30443. Admin commands run on this machine with the admin
 * identity copied out of the broker's volume (as an operator does, and as the demo does),
 * not as a `kubectl exec` of a fresh Node process in the broker pod: on a loaded machine
 * those took minutes and once ended with exit 137, so the first version of this
 * environment (7768e4c) never got through its setup.
 */
export function deployedAgents(n: number): ProxyEnv {
  const fixture = useDeployment(n, { patchCoreDns: false });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'plexus-proxy-admin-'));
  const admin = (args: string[]) => [...args, '--data-dir', dataDir, '--broker', fixture.d.brokerUrl];
  beforeAll(async () => {
    mkdirSync(path.join(dataDir, 'admin'), { recursive: true, mode: 0o700 });
    for (const file of ['admin.crt', 'admin.key', 'ca.crt']) {
      const pem = await kubectlOk(fixture.d.broker.cluster, ['-n', 'plexus-broker', 'exec', 'deploy/plexus-broker', '-c', 'broker', '--', 'cat', `/data/broker/admin/${file}`]);
      writeFileSync(path.join(dataDir, 'admin', file), pem, { mode: 0o600 });
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    kind: 'Plexus deployed as pods',
    clusters: () => fixture.d.clusters.map((c) => c.cluster),
    async applyBaseline(objects) {
      const file = path.join(dataDir, 'baseline.json');
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
      const rev = (JSON.parse(await plexus(admin(['broker', 'rbac', 'apply', '-f', file, '-o', 'json']))) as { revision: number }).revision;
      await waitFor(async () => {
        const s = rbacComplianceResponseSchema.parse(JSON.parse(await plexus(admin(['broker', 'status', '-o', 'json']))));
        return s.clusters.length === n && s.clusters.every((c) => c.compliant && c.appliedRevision === rev) ? s : undefined;
      }, { what: `every cluster applied baseline revision ${rev}`, timeoutMs: 180_000 });
    },
    async login(name, groups, dir) {
      const inv = JSON.parse(await plexus(admin(['broker', 'user', 'invite', name, ...groups.flatMap((g) => ['--group', g]), '--output', 'json']))) as { token: string; caFingerprint: string };
      await plexus(['login', '--broker', fixture.d.brokerUrl, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir]);
      const kubeconfig = path.join(dir, 'kubeconfig.yaml');
      await waitFor(async () => {
        const out = JSON.parse(await plexus(['kubeconfig', '--output', kubeconfig, '--config-dir', dir, '--format', 'json'])) as { contexts: string[] };
        return out.contexts.length === n;
      }, { what: `kubeconfig of ${name} names all ${n} clusters`, timeoutMs: 60_000 });
      return { kubeconfig, cacheDir: path.join(dir, 'kube-cache') };
    },
    async audit(c, sinceMs) {
      // The pod's log, from a second before: the kubelet's timestamps and the line's own differ.
      const out = await kubectlOk(c, ['-n', 'plexus-system', 'logs', 'deploy/plexus-agent', '-c', 'agent', `--since-time=${new Date(sinceMs - 1000).toISOString()}`]);
      return auditLines(out, sinceMs);
    },
  };
}
