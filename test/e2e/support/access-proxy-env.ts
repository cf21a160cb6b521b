// Where the access proxies under test run, for test/e2e/real-nodes-proxy: the same suite
// against Plexus deployed as pods (deployPlexus: image built from this tree, broker and
// agents applied with kubectl apply -k, proxies on NodePorts) and against `plexus agent
// run` host processes (the Mesh of the other e2e suites). Each gives the suite: the
// clusters, a way to apply the central RBAC baseline and wait until every cluster has it,
// a person logged in with the real CLI, and the proxy's own audit lines.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Cluster } from '../../harness/cluster.ts';
import type { ClusterSet } from '../../harness/cluster-set.ts';
import { deployPlexus, type PlexusDeployment } from '../../harness/plexus-deploy.ts';
import { startClusters } from '../../harness/start-clusters.ts';
import { anyFailed, resultsDirFor, type SuiteLike } from '../../harness/use-clusters.ts';
import { plexus } from '../../support/plexus-process.ts';
import { until } from './objects.ts';
import { loginPerson } from './people.ts';
import { applyBaseline, compliance } from './rbac.ts';
import { useMesh } from './use-mesh.ts';
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

/** `plexus agent run` processes on the host, each pointed at its cluster's API server on the node's address. */
export function hostAgents(n: number): ProxyEnv {
  const fixture = useMesh({ clusters: n, nodes: true });
  return {
    kind: 'agents as host processes',
    clusters: () => fixture.mesh.clusters,
    async applyBaseline(objects) {
      const rev = await applyBaseline(fixture.mesh, objects);
      await until(`every cluster applied baseline revision ${rev}`, async () => {
        const s = await compliance(fixture.mesh);
        return s.clusters.length === n && s.clusters.every((c) => c.compliant && c.appliedRevision === rev) ? s : undefined;
      }, 90_000);
    },
    async login(name, groups, dir) {
      const p = await loginPerson(fixture.mesh, name, groups, dir);
      return { kubeconfig: p.kubeconfig, cacheDir: path.join(p.dir, 'kube-cache') };
    },
    audit: async (c, sinceMs) => auditLines(readFileSync(path.join(fixture.mesh.dir, `agent-${c.name}.log`), 'utf8'), sinceMs),
  };
}

interface Compliance { clusters: { cluster: string; compliant: boolean; appliedRevision?: number | null }[] }

/** Plexus as pods (deployPlexus): the broker in cluster 1, an agent in each cluster, its proxy on https://<node IP>:30443. */
export function deployedAgents(n: number): ProxyEnv {
  let set: ClusterSet | undefined;
  let d: PlexusDeployment | undefined;
  let resultsDir = '';
  beforeAll(async (suite) => {
    resultsDir = resultsDirFor(suite as SuiteLike);
    rmSync(resultsDir, { recursive: true, force: true });
    set = await startClusters(n, { nodes: true });
    const started = performance.now();
    d = await deployPlexus(set, { patchCoreDns: false });
    console.log(`[e2e] Plexus deployed as pods in ${Math.round(performance.now() - started)} ms (${JSON.stringify(d.timings)})`);
  }, 900_000);
  afterAll(async (suite) => {
    if (!set) return;
    const failed = anyFailed(suite as SuiteLike);
    if (failed && d) await d.saveLogs().catch(() => undefined);
    await set.stop(failed ? { saveLogsTo: resultsDir } : {});
    if (failed) console.error(`[e2e] a test failed; lab and Plexus logs saved to ${resultsDir}`);
  }, 300_000);
  const deployment = () => {
    if (!d) throw new Error('Plexus is deployed only inside the tests of the block that called deployedAgents()');
    return d;
  };
  return {
    kind: 'Plexus deployed as pods',
    clusters: () => deployment().clusters.map((c) => c.cluster),
    async applyBaseline(objects) {
      const dep = deployment();
      const r = await dep.broker.cluster.kubectl(['-n', 'plexus-broker', 'exec', '-i', 'deploy/plexus-broker', '-c', 'broker', '--',
        'node', '/app/bin/plexus.ts', 'broker', 'rbac', 'apply', '-f', '/dev/stdin', '--output', 'json'],
      { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
      if (r.code !== 0) throw new Error(`rbac apply in the broker pod: ${r.stderr}`);
      const rev = (JSON.parse(r.stdout) as { revision: number }).revision;
      // Each `plexus` run in the broker pod starts a node process in the pod (seconds on a
      // loaded machine): poll the broker's compliance view less often than the clusters.
      await until(`every cluster applied baseline revision ${rev}`, async () => {
        const s = await dep.plexusJson<Compliance>(['broker', 'status']);
        return s.clusters.length === n && s.clusters.every((c) => c.compliant && c.appliedRevision === rev) ? s : undefined;
      }, 300_000);
    },
    async login(name, groups, dir) {
      const dep = deployment();
      const inv = await dep.plexusJson<{ token: string; caFingerprint: string }>(['broker', 'user', 'invite', name, ...groups.flatMap((g) => ['--group', g])]);
      await plexus(['login', '--broker', dep.brokerUrl, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir]);
      const kubeconfig = path.join(dir, 'kubeconfig.yaml');
      await until(`kubeconfig of ${name} names all ${n} clusters`, async () => {
        const out = JSON.parse(await plexus(['kubeconfig', '--output', kubeconfig, '--config-dir', dir, '--format', 'json'])) as { contexts: string[] };
        return out.contexts.length === n;
      }, 60_000);
      return { kubeconfig, cacheDir: path.join(dir, 'kube-cache') };
    },
    async audit(c, sinceMs) {
      const r = await c.kubectl(['-n', 'plexus-system', 'logs', 'deploy/plexus-agent', '-c', 'agent', `--since-time=${new Date(sinceMs - 1000).toISOString()}`]);
      if (r.code !== 0) throw new Error(`agent logs in ${c.name}: ${r.stderr}`);
      return auditLines(r.stdout, sinceMs);
    },
  };
}
