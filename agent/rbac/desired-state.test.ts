import { describe, expect, it } from 'vitest';
import type { RbacEntry } from '../../broker/api/rbac.ts';
import { LABEL_RBAC_OWNED, type KubeObject } from '../kube/index.ts';
import { ANNOTATION_RBAC_REVISION, contentDrifted, desiredObject, isOwned, parseRbacKey, revisionStale } from './desired-state.ts';

const e: RbacEntry = {
  hash: 'abc',
  object: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b', labels: { team: 'a' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'Group', name: 'plexus:dev', apiGroup: 'rbac.authorization.k8s.io' }],
  },
};

describe('desired RBAC objects', () => {
  const d = desiredObject(e, 7);

  it('carry the ownership label, the baseline labels, revision and hash', () => {
    expect(d.metadata?.labels).toEqual({ team: 'a', [LABEL_RBAC_OWNED]: 'true' });
    expect(d.metadata?.annotations).toEqual({ 'rbac.plexus.io/revision': '7', 'rbac.plexus.io/hash': 'abc' });
    expect(isOwned(d)).toBe(true);
  });

  it('drift on access content and lost metadata, not on what others add or on the revision', () => {
    const live = structuredClone(d) as KubeObject & { subjects: unknown[] };
    live.metadata = { ...live.metadata, labels: { ...live.metadata!.labels, extra: 'x' }, resourceVersion: '9' };
    expect(contentDrifted(d, live)).toBe(false);
    const older = structuredClone(live);
    older.metadata!.annotations![ANNOTATION_RBAC_REVISION] = '6';
    expect(contentDrifted(d, older)).toBe(false);
    expect(revisionStale(d, older)).toBe(true);
    expect(contentDrifted(d, { ...live, subjects: [...live.subjects, { kind: 'User', name: 'eve' }] } as KubeObject)).toBe(true);
    const unlabelled = structuredClone(live);
    delete unlabelled.metadata!.labels![LABEL_RBAC_OWNED];
    expect(contentDrifted(d, unlabelled)).toBe(true);
  });

  it('tell ours from others by label or by our field manager', () => {
    expect(isOwned({ metadata: { name: 'x' } })).toBe(false);
    expect(isOwned({ metadata: { name: 'x', managedFields: [{ manager: 'plexus', operation: 'Apply' }] } })).toBe(true);
  });

  it('round-trip keys', () => {
    expect(parseRbacKey('Role/app/r')).toEqual({ kind: 'Role', namespace: 'app', name: 'r' });
    expect(parseRbacKey('ClusterRole//r')).toEqual({ kind: 'ClusterRole', name: 'r' });
    expect(parseRbacKey('Secret/a/b')).toBeUndefined();
  });
});
