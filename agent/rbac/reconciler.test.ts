import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RbacClusterBaseline, RbacEntry, RbacObject } from '../../broker/api/rbac.ts';
import { FakeKube } from '../../test/support/fake-kube.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { InformerRegistry, LABEL_RBAC_OWNED, ROLES, ROLE_BINDINGS, type KubeObject } from '../kube/index.ts';
import { ANNOTATION_RBAC_HASH, ANNOTATION_RBAC_REVISION, WATCHED_RBAC_RESOURCES } from './desired-state.ts';
import { RbacState } from './rbac-state.ts';
import { BASELINE_KEY, RbacReconciler } from './reconciler.ts';

const ctx = { log: pino({ level: 'silent' }) };
const V = 'rbac.authorization.k8s.io/v1';
const podReader = (verbs = ['get', 'list']): RbacObject => ({
  apiVersion: V, kind: 'Role', metadata: { name: 'pod-reader', namespace: 'app' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
});
const devBinding: RbacObject = {
  apiVersion: V, kind: 'RoleBinding', metadata: { name: 'dev', namespace: 'app' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
  subjects: [{ kind: 'Group', name: 'plexus:dev', apiGroup: 'rbac.authorization.k8s.io' }],
};
const entry = (object: RbacObject, hash: string): RbacEntry => ({ hash, object });

describe('RbacReconciler', () => {
  let kube: FakeKube;
  let state: RbacState;
  let baseline: RbacClusterBaseline;
  let queued: string[];
  let reconciler: RbacReconciler;

  beforeEach(async () => {
    kube = new FakeKube();
    const registry = new InformerRegistry({ listWatch: kube.listWatch, logger: ctx.log, timers: new FakeTimers() });
    const informers = registry.declare('rbac', WATCHED_RBAC_RESOURCES);
    registry.start();
    await informers.waitForSync();
    state = new RbacState();
    queued = [];
    baseline = { revision: 1, targeted: true, entries: [entry(podReader(), 'h1'), entry(devBinding, 'h2')] };
    reconciler = new RbacReconciler({
      api: kube, informers, state, fetchBaseline: async () => baseline, enqueue: (k) => queued.push(k),
      clock: { now: () => new Date('2026-01-01T00:00:00Z') }, resyncMs: 60_000,
    });
  });

  /** Fetch the baseline, then reconcile every key it enqueued (and any they enqueue). */
  async function converge(): Promise<void> {
    await reconciler.reconcile(BASELINE_KEY, ctx);
    while (queued.length > 0) await reconciler.reconcile(queued.shift()!, ctx);
  }
  const role = () => kube.objects(ROLES, 'app').find((r) => r.metadata?.name === 'pod-reader') as (KubeObject & { rules: unknown[] }) | undefined;

  it('applies the baseline with the ownership label, revision and hash, and reports the revision applied', async () => {
    await converge();
    expect(role()?.metadata?.labels?.[LABEL_RBAC_OWNED]).toBe('true');
    expect(role()?.metadata?.annotations).toMatchObject({ [ANNOTATION_RBAC_REVISION]: '1', [ANNOTATION_RBAC_HASH]: 'h1' });
    expect(kube.objects(ROLE_BINDINGS, 'app')).toHaveLength(1);
    const report = state.report();
    expect(report.appliedRevision).toBe(1);
    expect(report.applied.map((a) => a.hash)).toEqual(['h1', 'h2']);
    expect(report.driftCount).toBe(0);
  });

  it('corrects a hand edit and records it as drift', async () => {
    await converge();
    kube.put(ROLES, { ...role()!, rules: [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get'] }] } as KubeObject);
    await reconciler.reconcile('Role/app/pod-reader', ctx);
    expect(role()?.rules).toEqual(podReader().rules);
    expect(state.report().recentDrift).toEqual([{ kind: 'Role', namespace: 'app', name: 'pod-reader', action: 'modified', at: '2026-01-01T00:00:00.000Z' }]);
  });

  it('recreates a deleted object and records it as drift', async () => {
    await converge();
    await kube.delete(ROLE_BINDINGS as never, { namespace: 'app', name: 'dev' });
    await reconciler.reconcile('RoleBinding/app/dev', ctx);
    expect(kube.objects(ROLE_BINDINGS, 'app')).toHaveLength(1);
    expect(state.report().recentDrift[0]).toMatchObject({ kind: 'RoleBinding', action: 'deleted' });
  });

  it('does not count its own revision bump or others\' extra labels as drift', async () => {
    await converge();
    kube.put(ROLES, { ...role()!, metadata: { ...role()!.metadata, labels: { ...role()!.metadata!.labels, team: 'x' } } });
    baseline = { ...baseline, revision: 2 };
    await converge();
    expect(role()?.metadata?.annotations?.[ANNOTATION_RBAC_REVISION]).toBe('2');
    expect(state.report()).toMatchObject({ appliedRevision: 2, driftCount: 0 });
  });

  it('leaves a pre-existing unlabelled object with the same name alone and reports the clash', async () => {
    kube.put(ROLES, { apiVersion: V, kind: 'Role', metadata: { name: 'pod-reader', namespace: 'app' }, rules: [] } as KubeObject);
    await converge();
    expect(role()?.rules).toEqual([]);
    expect(role()?.metadata?.labels).toBeUndefined();
    const report = state.report();
    expect(report.clashes).toEqual([{ kind: 'Role', namespace: 'app', name: 'pod-reader' }]);
    expect(report.appliedRevision).toBe(1);
  });

  it('prunes what leaves the baseline, and everything when the cluster is no longer targeted', async () => {
    await converge();
    baseline = { revision: 2, targeted: true, entries: [entry(devBinding, 'h2')] };
    await converge();
    expect(role()).toBeUndefined();
    expect(kube.objects(ROLE_BINDINGS, 'app')).toHaveLength(1);
    baseline = { revision: 3, targeted: false, entries: [] };
    await converge();
    expect(kube.objects(ROLE_BINDINGS, 'app')).toHaveLength(0);
    expect(state.report()).toMatchObject({ appliedRevision: 3, applied: [] });
  });

  it('never prunes an object without the ownership label', async () => {
    kube.put(ROLES, { apiVersion: V, kind: 'Role', metadata: { name: 'theirs', namespace: 'app' }, rules: [] } as KubeObject);
    await converge();
    await reconciler.reconcile('Role/app/theirs', ctx);
    expect(kube.objects(ROLES, 'app').map((r) => r.metadata?.name)).toContain('theirs');
  });
});
