// The RBAC baseline endpoints over real mTLS with real admin and cluster certificates:
// validation (nothing stored on rejection), revisions (identical content makes none),
// label targeting, the `rbac` watch event, agent status reports, diff and compliance,
// and the scopes (a cluster cannot administer, the admin is not a cluster).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths, catalogSnapshotSchema } from '../../broker/api/catalog.ts';
import {
  rbacApplyResponseSchema, rbacBaselineInfoSchema, rbacClusterBaselineSchema, rbacComplianceResponseSchema, rbacDiffResponseSchema,
  rbacPaths, type RbacApplyRequest, type RbacProblem, type RbacStatusReport,
} from '../../broker/api/rbac.ts';
import { clusterInfoSchema } from '../../broker/api/types.ts';
import { errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';
import { restartTestBroker, watch, type ClusterClient } from './support/catalog-fixture.ts';

const V = 'rbac.authorization.k8s.io/v1';
const podReader = (verbs: string[]) => ({ apiVersion: V, kind: 'Role', metadata: { name: 'pod-reader', namespace: 'app' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs }] });
const devBinding = {
  apiVersion: V, kind: 'RoleBinding', metadata: { name: 'dev-pods', namespace: 'app' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'Group', name: 'plexus:dev' }],
};

describe('RBAC baseline API', () => {
  let b: TestBroker;
  let east: ClusterClient;
  let west: ClusterClient;
  const admin = (path: string, method: 'GET' | 'PUT' | 'POST' = 'GET', body?: unknown) => b.call(path, { method, ...(body === undefined ? {} : { body }), identity: b.admin });
  const apply = (req: RbacApplyRequest) => admin(rbacPaths.admin, 'PUT', req);
  const baselineOf = async (c: ClusterClient) => rbacClusterBaselineSchema.parse((await b.call(rbacPaths.baseline, { identity: c.identity })).body);

  beforeAll(async () => {
    b = await startTestBroker({ config: { leaseCheckIntervalMs: 600_000 } });
    east = { id: 'east', identity: (await joinCluster(b, 'east')).identity };
    west = { id: 'west', identity: (await joinCluster(b, 'west')).identity };
  });
  afterAll(async () => {
    await b.stop();
  });

  it('stores a revision, makes none for identical content, and announces it on the watch stream', async () => {
    const since = catalogSnapshotSchema.parse((await b.call(catalogPaths.catalog, { identity: east.identity })).body).revision;
    const w = watch(b, east, since);
    const first = rbacApplyResponseSchema.parse((await apply({ objects: [podReader(['get', 'list']), devBinding] })).body);
    expect(first).toMatchObject({ revision: 1, created: true, objects: 2 });
    await w.waitFor((es) => es.some((e) => e.type === 'rbac' && e.rbacRevision === 1), 'the rbac event');
    const again = rbacApplyResponseSchema.parse((await apply({ objects: [devBinding, podReader(['get', 'list'])] })).body);
    expect(again).toMatchObject({ revision: 1, created: false });
    await w.close();
    const info = rbacBaselineInfoSchema.parse((await admin(rbacPaths.admin)).body);
    expect(info.entries.map((e) => e.object.metadata.name)).toEqual(['pod-reader', 'dev-pods']);
    expect(info.entries[1]!.object.subjects).toEqual([{ kind: 'Group', name: 'plexus:dev', apiGroup: 'rbac.authorization.k8s.io' }]);
  });

  it('rejects dangerous content with every problem coded, and stores nothing', async () => {
    const r = await apply({ objects: [podReader(['*']), { ...devBinding, metadata: { name: 'x', namespace: 'kube-system' } }] });
    expect(r.status).toBe(422);
    expect(errorCode(r)).toBe('PLX_BROKER_RBAC_REJECTED');
    const problems = (r.body as { error: { details: RbacProblem[] } }).error.details;
    expect(problems.map((p) => p.code).sort()).toEqual(['PLX_RBAC_KUBE_SYSTEM', 'PLX_RBAC_WILDCARD_VERB']);
    expect(rbacBaselineInfoSchema.parse((await admin(rbacPaths.admin)).body).revision).toBe(1);
    expect(errorCode(await apply({ objects: [{ kind: 'Pod' }] }))).toBe('PLX_BROKER_RBAC_REJECTED');
  });

  it('targets clusters by label; a label change is announced', async () => {
    const labelled = await admin(rbacPaths.clusterLabels('east'), 'PUT', { set: { env: 'prod' } });
    expect(clusterInfoSchema.parse(labelled.body).labels).toEqual({ env: 'prod' });
    expect(errorCode(await admin(rbacPaths.clusterLabels('nowhere'), 'PUT', { set: { env: 'prod' } }))).toBe('PLX_BROKER_NOT_FOUND');
    expect(errorCode(await admin(rbacPaths.clusterLabels('east'), 'PUT', { set: { 'bad key!': 'x' } }))).toBe('PLX_BROKER_VALIDATION');
    const r = rbacApplyResponseSchema.parse((await apply({ objects: [podReader(['get'])], target: { selector: { env: 'prod' } } })).body);
    expect(r.revision).toBe(2);
    expect(await baselineOf(east)).toMatchObject({ revision: 2, targeted: true, entries: [{ object: { metadata: { name: 'pod-reader' } } }] });
    expect(await baselineOf(west)).toMatchObject({ revision: 2, targeted: false, entries: [] });
    const clusters = (await admin('/v1/admin/clusters')).body as { clusters: { id: string; labels: Record<string, string> }[] };
    expect(clusters.clusters.find((c) => c.id === 'east')?.labels).toEqual({ env: 'prod' });
  });

  it('keeps agent reports, and shows compliance and a dry-run diff from them', async () => {
    const cur = await baselineOf(east);
    const report: RbacStatusReport = {
      appliedRevision: cur.revision, seenRevision: cur.revision,
      applied: cur.entries.map((e) => ({ kind: e.object.kind, namespace: e.object.metadata.namespace, name: e.object.metadata.name, hash: e.hash })),
      clashes: [], errors: [], driftCount: 3, recentDrift: [],
    };
    expect((await b.call(rbacPaths.status, { method: 'PUT', body: report, identity: east.identity })).status).toBe(200);
    const status = rbacComplianceResponseSchema.parse((await admin(rbacPaths.adminStatus)).body);
    expect(status.clusters.map((c) => [c.cluster, c.compliant, c.driftCount, c.targeted])).toEqual([['east', true, 3, true], ['west', false, 0, false]]);

    const diff = rbacDiffResponseSchema.parse((await admin(rbacPaths.adminDiff, 'POST', { objects: [podReader(['get', 'watch']), devBinding], target: { all: true } })).body);
    const changes = Object.fromEntries(diff.clusters.map((c) => [c.cluster, c.changes.map((x) => `${x.action} ${x.kind}/${x.name}`)]));
    expect(changes).toEqual({ east: ['update Role/pod-reader', 'create RoleBinding/dev-pods'], west: ['create Role/pod-reader', 'create RoleBinding/dev-pods'] });
    expect(diff.clusters.map((c) => c.known)).toEqual([true, false]);
    expect(rbacBaselineInfoSchema.parse((await admin(rbacPaths.admin)).body).revision).toBe(2);
  });

  it('keeps revisions, labels and reports across a broker restart', async () => {
    const before = rbacBaselineInfoSchema.parse((await admin(rbacPaths.admin)).body);
    b = await restartTestBroker(b, { leaseCheckIntervalMs: 600_000 });
    expect(rbacBaselineInfoSchema.parse((await admin(rbacPaths.admin)).body)).toEqual(before);
    expect(await baselineOf(east)).toMatchObject({ revision: before.revision, targeted: true });
    const status = rbacComplianceResponseSchema.parse((await admin(rbacPaths.adminStatus)).body);
    expect(status.clusters.find((c) => c.cluster === 'east')).toMatchObject({ labels: { env: 'prod' }, driftCount: 3, compliant: true });
    const next = rbacApplyResponseSchema.parse((await apply({ objects: [podReader(['get'])], target: { all: true } })).body);
    expect(next.revision).toBe(before.revision + 1);
  });

  it('rejects a malformed report and keeps the scopes apart', async () => {
    expect(errorCode(await b.call(rbacPaths.status, { method: 'PUT', body: { applied: 'no' }, identity: east.identity }))).toBe('PLX_BROKER_VALIDATION');
    expect(errorCode(await b.call(rbacPaths.admin, { method: 'PUT', body: { objects: [] }, identity: east.identity }))).toBe('PLX_BROKER_FORBIDDEN');
    expect(errorCode(await b.call(rbacPaths.baseline, { identity: b.admin }))).toBe('PLX_BROKER_FORBIDDEN');
    expect(errorCode(await b.call(rbacPaths.baseline))).toBe('PLX_BROKER_UNAUTHENTICATED');
  });
});
