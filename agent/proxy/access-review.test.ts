import { describe, expect, it } from 'vitest';
import { impersonationChecks, serviceAccountOf } from './access-review.ts';

const as = (o: { user: string; groups?: string[]; uid?: string; extra?: Record<string, string[]> }) => ({ groups: [], extra: {}, ...o });

describe('impersonationChecks (what the API server checks for each impersonated attribute)', () => {
  // The proxy asked about `users` for every --as, while the API server checks `serviceaccounts`
  // in <ns> for system:serviceaccount:<ns>:<name>: impersonate on users alone became any SA.
  it('checks --as system:serviceaccount:<ns>:<name> as impersonate on serviceaccounts <name> in <ns>, not on users', () => {
    expect(impersonationChecks(as({ user: 'system:serviceaccount:kube-system:admin-sa' }))).toEqual([
      { group: '', resource: 'serviceaccounts', namespace: 'kube-system', name: 'admin-sa' },
    ]);
  });

  it('checks every attribute: user, each group, each extra key/value, uid', () => {
    expect(impersonationChecks(as({ user: 'bob', groups: ['ops', 'dev'], uid: 'u-1', extra: { scopes: ['view', 'edit'], 'example.com/team': ['a'] } }))).toEqual([
      { group: '', resource: 'users', name: 'bob' },
      { group: '', resource: 'groups', name: 'ops' },
      { group: '', resource: 'groups', name: 'dev' },
      { group: 'authentication.k8s.io', resource: 'userextras', subresource: 'scopes', name: 'view' },
      { group: 'authentication.k8s.io', resource: 'userextras', subresource: 'scopes', name: 'edit' },
      { group: 'authentication.k8s.io', resource: 'userextras', subresource: 'example.com/team', name: 'a' },
      { group: 'authentication.k8s.io', resource: 'uids', name: 'u-1' },
    ]);
  });

  it.each([
    'system:serviceaccount:kube-system',
    'system:serviceaccount:a:b:c',
    'system:serviceaccount::b',
    'system:serviceaccount:Kube-System:b',
    'system:serviceaccount:ns:B',
    `system:serviceaccount:${'n'.repeat(64)}:b`,
  ])('refuses %s: a service account name the proxy cannot map as the API server does', (user) => {
    expect(impersonationChecks(as({ user }))).toBeNull();
  });

  it('splits service account user names exactly at the prefix', () => {
    expect(serviceAccountOf('system:serviceaccount:team:build.bot-1')).toEqual({ namespace: 'team', name: 'build.bot-1' });
    expect(serviceAccountOf('system:serviceaccounts:team')).toBeUndefined();
    expect(serviceAccountOf('xsystem:serviceaccount:team:b')).toBeUndefined();
  });
});
