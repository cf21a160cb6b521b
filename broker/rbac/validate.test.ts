import { describe, expect, it } from 'vitest';
import { validateBaseline } from './validate.ts';

const V = 'rbac.authorization.k8s.io/v1';
const role = (rules: unknown[], name = 'r', namespace = 'app') => ({ apiVersion: V, kind: 'Role', metadata: { name, namespace }, rules });
const clusterRole = (rules: unknown[], name = 'cr') => ({ apiVersion: V, kind: 'ClusterRole', metadata: { name }, rules });
const crb = (roleName: string, subjects: unknown[], name = 'crb') => ({
  apiVersion: V, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects,
});
const group = (name: string) => ({ kind: 'Group', name, apiGroup: 'rbac.authorization.k8s.io' });
const codes = (objects: unknown[], allowKubeSystem = false) => validateBaseline(objects, { allowKubeSystem }).problems.map((p) => p.code);

describe('validateBaseline', () => {
  it('accepts read on pods for a plexus group', () => {
    const r = validateBaseline([
      role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }], 'pod-reader'),
      { apiVersion: V, kind: 'RoleBinding', metadata: { name: 'dev-pods', namespace: 'app' }, roleRef: { kind: 'Role', name: 'pod-reader' }, subjects: [group('plexus:dev')] },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } },
    ], { allowKubeSystem: false });
    expect(r.problems).toEqual([]);
    expect(r.objects).toHaveLength(3);
  });

  it('rejects a wildcard verb', () => {
    expect(codes([role([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }])])).toEqual(['PLX_RBAC_WILDCARD_VERB']);
  });

  it('rejects a wildcard resource', () => {
    expect(codes([role([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }])])).toEqual(['PLX_RBAC_WILDCARD_RESOURCE']);
  });

  it('rejects escalate', () => {
    expect(codes([clusterRole([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }])])).toEqual(['PLX_RBAC_ESCALATE']);
  });

  it('rejects bind', () => {
    expect(codes([clusterRole([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'] }])])).toEqual(['PLX_RBAC_BIND']);
  });

  it('rejects impersonate', () => {
    expect(codes([clusterRole([{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }])])).toEqual(['PLX_RBAC_IMPERSONATE']);
  });

  it('rejects binding cluster-admin, even to a narrow group', () => {
    expect(codes([crb('cluster-admin', [group('plexus:ops')])])).toEqual(['PLX_RBAC_CLUSTER_ADMIN']);
  });

  it.each(['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts', 'system:serviceaccounts:app', 'system:masters'])(
    'rejects cluster-admin for the broad group %s', (name) => {
      expect(codes([crb('cluster-admin', [group(name)])])).toContain('PLX_RBAC_BROAD_SUBJECT');
    });

  it('rejects binding a baseline role with */* to a broad group', () => {
    const cr = clusterRole([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], 'everything');
    expect(codes([cr, crb('everything', [group('system:authenticated')])])).toContain('PLX_RBAC_BROAD_SUBJECT');
  });

  it('rejects the built-in admin role for a broad group but allows it for a plexus group', () => {
    expect(codes([crb('admin', [group('system:serviceaccounts')])])).toEqual(['PLX_RBAC_BROAD_SUBJECT']);
    expect(codes([crb('admin', [group('plexus:ops')])])).toEqual([]);
  });

  it('rejects kube-system unless allowed', () => {
    const r = role([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], 'r', 'kube-system');
    expect(codes([r])).toEqual(['PLX_RBAC_KUBE_SYSTEM']);
    expect(codes([r], true)).toEqual([]);
    expect(codes([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } }])).toEqual(['PLX_RBAC_KUBE_SYSTEM']);
  });

  it('rejects unknown kinds', () => {
    expect(codes([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }])).toEqual(['PLX_RBAC_UNKNOWN_KIND']);
    expect(codes(['not an object'])).toEqual(['PLX_RBAC_UNKNOWN_KIND']);
  });

  it('rejects malformed objects', () => {
    expect(codes([{ apiVersion: V, kind: 'Role', metadata: { name: 'r', namespace: 'app' }, rules: [{ resources: ['pods'] }] }])).toEqual(['PLX_RBAC_MALFORMED']);
    expect(codes([{ apiVersion: V, kind: 'Role', metadata: { name: 'r' }, rules: [] }])).toEqual(['PLX_RBAC_MALFORMED']);
    expect(codes([{ apiVersion: 'v1', kind: 'ClusterRole', metadata: { name: 'r' }, rules: [] }])).toEqual(['PLX_RBAC_MALFORMED']);
    expect(codes([{ apiVersion: V, kind: 'RoleBinding', metadata: { name: 'b', namespace: 'app' }, subjects: [] }])).toEqual(['PLX_RBAC_MALFORMED']);
  });

  it('rejects duplicates', () => {
    const r = role([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
    expect(codes([r, r])).toEqual(['PLX_RBAC_DUPLICATE']);
  });

  it('reports every problem at once', () => {
    expect(codes([
      role([{ apiGroups: [''], resources: ['*'], verbs: ['*', 'bind'] }]),
      { kind: 'Pod' },
    ]).sort()).toEqual(['PLX_RBAC_BIND', 'PLX_RBAC_UNKNOWN_KIND', 'PLX_RBAC_WILDCARD_RESOURCE', 'PLX_RBAC_WILDCARD_VERB']);
  });
});
