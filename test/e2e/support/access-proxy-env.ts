// Where the access proxies under test run, for test/e2e/real-nodes-proxy: `plexus agent run`
// host processes (the Mesh of the other e2e suites, on real-node clusters). An environment
// gives the suite the clusters, a way to apply the central RBAC baseline and wait until
// every cluster has it, a person logged in with the real CLI, and the proxy's own audit
// lines, so the same suite can run against Plexus deployed as pods (deployPlexus; a first
// version is in this file's history, 7768e4c).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../../harness/cluster.ts';
import { loginPerson } from './people.ts';
import { applyBaseline, compliance } from './rbac.ts';
import { useMesh } from './use-mesh.ts';
import type { KubectlIdentity } from './kubectl-session.ts';
import { waitFor } from '../../harness/wait-for.ts';

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
  // Two real nodes and their CoreDNS take longer to come up than bare control planes.
  const fixture = useMesh({ clusters: n, nodes: true }, { startTimeoutMs: 600_000 });
  return {
    kind: 'agents as host processes',
    clusters: () => fixture.mesh.clusters,
    async applyBaseline(objects) {
      const rev = await applyBaseline(fixture.mesh, objects);
      await waitFor(async () => {
        const s = await compliance(fixture.mesh);
        return s.clusters.length === n && s.clusters.every((c) => c.compliant && c.appliedRevision === rev) ? s : undefined;
      }, { what: `every cluster applied baseline revision ${rev}`, timeoutMs: 90_000 });
    },
    async login(name, groups, dir) {
      const p = await loginPerson(fixture.mesh, name, groups, dir);
      return { kubeconfig: p.kubeconfig, cacheDir: path.join(p.dir, 'kube-cache') };
    },
    audit: async (c, sinceMs) => auditLines(readFileSync(path.join(fixture.mesh.dir, `agent-${c.name}.log`), 'utf8'), sinceMs),
  };
}
