import { describe, expect, it } from 'vitest';
import type { RbacStatusReport } from '../api/rbac.ts';
import { buildDocument, documentHash, parseTarget, targets } from './baseline.ts';
import { diffCluster } from './diff.ts';

const V = 'rbac.authorization.k8s.io/v1';
const role = (name: string, verbs: string[]) => ({ apiVersion: V, kind: 'Role' as const, metadata: { name, namespace: 'app' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs }] });

function report(applied: RbacStatusReport['applied'], clashes: RbacStatusReport['clashes'] = []): RbacStatusReport {
  return { appliedRevision: 1, seenRevision: 1, applied, clashes, errors: [], driftCount: 0, recentDrift: [] };
}

describe('diffCluster', () => {
  const doc = buildDocument([role('a', ['get']), role('b', ['list'])], { all: true }, false);
  const [a, b] = doc.entries;

  it('creates everything for an agent that never reported', () => {
    expect(diffCluster(doc.entries, undefined).map((c) => [c.action, c.name])).toEqual([['create', 'a'], ['create', 'b']]);
  });

  it('updates changed hashes, deletes what left the baseline, reports clashes, and skips what matches', () => {
    const r = report([
      { kind: 'Role', namespace: 'app', name: 'a', hash: a!.hash },
      { kind: 'Role', namespace: 'app', name: 'old', hash: 'x' },
      { kind: 'Namespace', name: 'kept', hash: 'y' },
    ], [{ kind: 'Role', namespace: 'app', name: 'b' }]);
    const next = buildDocument([role('a', ['get', 'watch']), role('b', ['list'])], { all: true }, false);
    expect(diffCluster(next.entries, r).map((c) => [c.action, c.name])).toEqual([['update', 'a'], ['clash', 'b'], ['delete', 'old']]);
    expect(diffCluster(doc.entries, report([{ kind: 'Role', namespace: 'app', name: 'a', hash: a!.hash }, { kind: 'Role', namespace: 'app', name: 'b', hash: b!.hash }]))).toEqual([]);
  });
});

describe('baseline documents', () => {
  it('hash the same content the same way whatever the order and key order', () => {
    const x = buildDocument([role('a', ['get']), role('b', ['list'])], { selector: { tier: 'web', env: 'prod' } }, false);
    const y = buildDocument([role('b', ['list']), role('a', ['get'])], { selector: { env: 'prod', tier: 'web' } }, false);
    expect(documentHash(x)).toBe(documentHash(y));
    expect(documentHash(x)).not.toBe(documentHash(buildDocument([role('a', ['get'])], { all: true }, false)));
  });

  it('target clusters by label', () => {
    expect(targets({ all: true }, {})).toBe(true);
    expect(targets(parseTarget('env=prod')!, { env: 'prod', x: 'y' })).toBe(true);
    expect(targets(parseTarget('env=prod,tier=web')!, { env: 'prod' })).toBe(false);
    expect(parseTarget('nonsense')).toBeUndefined();
  });
});
