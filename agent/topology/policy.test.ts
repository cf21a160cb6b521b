import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, parseServicePolicy, servicePolicyOf, weightOf } from './policy.ts';

describe('parseServicePolicy', () => {
  it('defaults to nearest with no weights', () => {
    expect(parseServicePolicy(undefined)).toEqual({ ok: true, policy: { policy: 'nearest', weights: new Map() } });
    expect(parseServicePolicy({ 'plexus.io/other': 'x' })).toMatchObject({ ok: true, policy: { policy: 'nearest' } });
  });

  it.each(['nearest', 'round-robin', 'local-only'])('accepts %s', (p) => {
    expect(parseServicePolicy({ 'plexus.io/dns-policy': p })).toMatchObject({ ok: true, policy: { policy: p } });
  });

  it('reads weights, tolerating spaces and a trailing comma', () => {
    const r = parseServicePolicy({ 'plexus.io/weights': ' cluster-1=3, cluster-2=0,' });
    expect(r.ok && [...r.policy.weights]).toEqual([['cluster-1', 3], ['cluster-2', 0]]);
    expect(r.ok && weightOf(r.policy, 'cluster-9')).toBe(1);
  });

  it.each([
    [{ 'plexus.io/dns-policy': 'closest' }, 'plexus.io/dns-policy'],
    [{ 'plexus.io/dns-policy': 'Nearest' }, 'plexus.io/dns-policy'],
    [{ 'plexus.io/weights': 'cluster-1' }, 'plexus.io/weights'],
    [{ 'plexus.io/weights': 'cluster-1=-1' }, 'plexus.io/weights'],
    [{ 'plexus.io/weights': 'cluster-1=1.5' }, 'plexus.io/weights'],
    [{ 'plexus.io/weights': 'cluster-1=1001' }, 'plexus.io/weights'],
    [{ 'plexus.io/weights': 'Cluster_1=1' }, 'plexus.io/weights'],
    [{ 'plexus.io/weights': 'a=1,a=2' }, 'plexus.io/weights'],
  ])('refuses %j, naming the annotation', (annotations, name) => {
    const r = parseServicePolicy(annotations);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem.startsWith(name)).toBe(true);
  });

  it('falls back to the default on the importing side', () => {
    expect(servicePolicyOf({ 'plexus.io/dns-policy': 'bogus' })).toBe(DEFAULT_POLICY);
  });
});
