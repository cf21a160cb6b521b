// `plexus broker rbac apply|diff`, `cluster label` and `status` as real processes against
// a real broker over its admin API (mTLS with the admin identity from the data dir).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPlexus, type PlexusRun } from '../support/plexus-process.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rbacApplyResponseSchema, rbacComplianceResponseSchema, rbacDiffResponseSchema } from '../../broker/api/rbac.ts';
import { joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';


type Run = PlexusRun;
const plexus = (...args: string[]): Promise<Run> => runPlexus(args);


const BASELINE = `
apiVersion: v1
kind: Namespace
metadata: { name: app }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: pod-reader, namespace: app }
rules:
- { apiGroups: [""], resources: [pods], verbs: [get, list, watch] }
`;
const BINDING = JSON.stringify({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'dev-pods', namespace: 'app' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'Group', name: 'plexus:dev' }],
});
const DANGEROUS = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: everyone-admin }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }
subjects: [{ kind: Group, name: "system:authenticated" }]
`;

describe('plexus broker rbac CLI', () => {
  let b: TestBroker;
  let dir: string;
  const admin = (...args: string[]) => plexus(...args, '--data-dir', b.dataDir);

  beforeAll(async () => {
    b = await startTestBroker();
    await joinCluster(b, 'east');
    await joinCluster(b, 'west');
    dir = join(b.dataDir, '..', 'baseline');
    mkdirSync(dir);
    writeFileSync(join(dir, '10-role.yaml'), BASELINE);
    writeFileSync(join(dir, '20-binding.json'), BINDING);
    writeFileSync(join(dir, 'README.txt'), 'not a manifest');
    writeFileSync(join(b.dataDir, '..', 'dangerous.yaml'), DANGEROUS);
  });
  afterAll(async () => {
    await b.stop();
  });

  it('applies a directory of YAML and JSON; the same content again makes no revision', async () => {
    const r = await admin('broker', 'rbac', 'apply', '-f', dir, '-o', 'json');
    expect(r.code).toBe(0);
    expect(rbacApplyResponseSchema.parse(JSON.parse(r.stdout))).toMatchObject({ revision: 1, created: true, objects: 3 });
    const again = rbacApplyResponseSchema.parse(JSON.parse((await admin('broker', 'rbac', 'apply', '-f', dir, '-o', 'json')).stdout));
    expect(again).toMatchObject({ revision: 1, created: false });
  });

  it('rejects dangerous content with one coded error line and a non-zero exit', async () => {
    const r = await admin('broker', 'rbac', 'apply', '-f', join(b.dataDir, '..', 'dangerous.yaml'));
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('PLX_BROKER_RBAC_REJECTED');
    expect(r.stderr).toContain('PLX_RBAC_BROAD_SUBJECT');
    expect((await admin('broker', 'rbac', 'apply', '-f', dir, '--target', 'nonsense')).stderr).toContain('PLX_BROKER_VALIDATION');
  });

  it('labels clusters, diffs a targeted baseline and shows compliance', async () => {
    const l = await admin('broker', 'cluster', 'label', 'east', 'env=prod', 'tier=web', '-o', 'json');
    expect(l.code).toBe(0);
    expect((JSON.parse(l.stdout) as { labels: Record<string, string> }).labels).toEqual({ env: 'prod', tier: 'web' });
    expect(JSON.parse((await admin('broker', 'cluster', 'label', 'east', 'tier-', '-o', 'json')).stdout).labels).toEqual({ env: 'prod' });

    const d = await admin('broker', 'rbac', 'diff', '-f', dir, '--target', 'env=prod', '-o', 'json');
    expect(d.code).toBe(0);
    const diff = rbacDiffResponseSchema.parse(JSON.parse(d.stdout));
    expect(diff.clusters.map((c) => [c.cluster, c.changes.length])).toEqual([['east', 3], ['west', 0]]);
    const table = await admin('broker', 'rbac', 'diff');
    expect(table.stdout).toMatch(/^CLUSTER\s+ACTION\s+KIND/);

    const s = await admin('broker', 'status', '-o', 'json');
    expect(s.code).toBe(0);
    const status = rbacComplianceResponseSchema.parse(JSON.parse(s.stdout));
    expect(status.clusters.map((c) => [c.cluster, c.currentRevision, c.appliedRevision, c.compliant])).toEqual([['east', 1, null, false], ['west', 1, null, false]]);
    expect((await admin('broker', 'status')).stdout).toMatch(/^CLUSTER\s+TARGETED\s+RBAC REVISION\s+COMPLIANT\s+DRIFT/);
  });
});
