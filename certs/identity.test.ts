import { describe, expect, it } from 'vitest';
import {
  formatIdentity,
  parseIdentity,
  sameIdentity,
  validateCommonName,
  validateGroup,
  validateName,
  validateTrustDomain,
} from './identity.ts';
import type { Identity } from './identity.ts';
import { certErrorCode as codeOf } from '../test/support/cert-error-code.ts';


describe('parseIdentity', () => {
  it.each([
    ['spiffe://acme/cluster/c1', { trustDomain: 'acme', kind: 'cluster', name: 'c1' }],
    ['spiffe://acme.example.com/user/alice', { trustDomain: 'acme.example.com', kind: 'user', name: 'alice' }],
    ['spiffe://acme/user/alice@example.com', { trustDomain: 'acme', kind: 'user', name: 'alice@example.com' }],
    ['spiffe://a-b.c/admin/ops.team_1', { trustDomain: 'a-b.c', kind: 'admin', name: 'ops.team_1' }],
    ['spiffe://acme/cluster/0', { trustDomain: 'acme', kind: 'cluster', name: '0' }],
  ])('parses %s', (uri, expected) => {
    expect(parseIdentity(uri)).toEqual(expected);
    expect(formatIdentity(parseIdentity(uri))).toBe(uri);
  });

  it.each([
    ['', 'empty'],
    ['acme/cluster/a', 'no scheme'],
    ['SPIFFE://acme/cluster/a', 'uppercase scheme'],
    ['https://acme/cluster/a', 'other scheme'],
    ['spiffe:/acme/cluster/a', 'single slash'],
    ['spiffe://acme/cluster/a?x=1', 'query'],
    ['spiffe://acme/cluster/a#frag', 'fragment'],
    ['spiffe://acme:443/cluster/a', 'port'],
    ['spiffe://user@acme/cluster/a', 'userinfo'],
    ['spiffe://acme/cluster/a/', 'trailing slash'],
    ['spiffe://acme/cluster/%61', 'percent-encoding in name'],
    ['spiffe://ac%6De/cluster/a', 'percent-encoding in trust domain'],
    ['spiffe://acme/cluster/A', 'uppercase name'],
    ['spiffe://ACME/cluster/a', 'uppercase trust domain'],
    ['spiffe://acme/Cluster/a', 'uppercase kind'],
    ['spiffe://acme/cluster/a/../b', 'dot segments'],
    ['spiffe://acme/cluster/..', 'dot-dot name'],
    ['spiffe://acme/cluster/.', 'dot name'],
    ['spiffe://acme/./cluster/a', 'dot segment before kind'],
    ['spiffe://acme/cluster/a/b', 'extra segment'],
    ['spiffe://acme/cluster', 'missing name'],
    ['spiffe://acme/cluster/', 'empty name'],
    ['spiffe:///cluster/a', 'empty trust domain'],
    ['spiffe://acme//cluster/a', 'empty segment'],
    ['spiffe://acme/robot/a', 'unknown kind'],
    ['spiffe://acme./cluster/a', 'trailing dot in trust domain'],
    ['spiffe://-acme/cluster/a', 'label starts with hyphen'],
    ['spiffe://acme/cluster/a_b', 'underscore in cluster name'],
    ['spiffe://acme/cluster/a.b', 'dot in cluster name'],
    ['spiffe://acme/cluster/-a', 'cluster name starts with hyphen'],
    ['spiffe://acme/user/.alice', 'user name starts with dot'],
    ['spiffe://acme/user/alice.', 'user name ends with dot'],
    ['spiffe://acme/cluster/a b', 'space'],
    ['spiffe://acme/cluster/a\n', 'newline'],
    ['spiffe://acme/cluster/\u0430', 'non-ASCII look-alike'],
    [` spiffe://acme/cluster/a`, 'leading whitespace'],
    ['spiffe://acme\\cluster\\a', 'backslashes'],
    [`spiffe://acme/cluster/${'a'.repeat(64)}`, 'cluster name over 63'],
    [`spiffe://${'a'.repeat(64)}/cluster/a`, 'trust domain label over 63'],
  ])('rejects %j (%s)', (uri) => {
    expect(codeOf(() => parseIdentity(uri))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it('rejects non-strings', () => {
    expect(codeOf(() => parseIdentity(undefined as unknown as string))).toBe('PLX_CERTS_BAD_IDENTITY');
    expect(codeOf(() => parseIdentity(42 as unknown as string))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it('returns a frozen value', () => {
    expect(Object.isFrozen(parseIdentity('spiffe://acme/cluster/a'))).toBe(true);
  });
});

describe('sameIdentity (regression: prefix and substring confusion)', () => {
  const a = parseIdentity('spiffe://acme/cluster/a');

  it('is equal for the same fields', () => {
    expect(sameIdentity(a, { trustDomain: 'acme', kind: 'cluster', name: 'a' })).toBe(true);
  });

  it.each([
    ['spiffe://acme/cluster/ab', 'cluster "a" is not cluster "ab"'],
    ['spiffe://acme.evil/cluster/a', 'trust domain "acme" is not "acme.evil"'],
    ['spiffe://evil.acme/cluster/a', 'trust domain "acme" is not "evil.acme"'],
    ['spiffe://acme/user/a', 'same name, different kind'],
    ['spiffe://acme/admin/a', 'user is not admin'],
  ])('%s differs: %s', (other) => {
    expect(sameIdentity(a, parseIdentity(other))).toBe(false);
  });

  it('cannot be reached through dot segments', () => {
    expect(codeOf(() => parseIdentity('spiffe://acme/cluster/a/../b'))).toBe('PLX_CERTS_BAD_IDENTITY');
  });
});

describe('formatIdentity', () => {
  it('validates what it formats', () => {
    const bad: Identity[] = [
      { trustDomain: 'acme.evil/cluster/x', kind: 'cluster', name: 'a' },
      { trustDomain: 'acme', kind: 'cluster', name: 'a/../b' },
      { trustDomain: 'acme', kind: 'root' as Identity['kind'], name: 'a' },
    ];
    for (const id of bad) expect(codeOf(() => formatIdentity(id))).toBe('PLX_CERTS_BAD_IDENTITY');
  });
});

describe('validators', () => {
  it('trust domain: lowercase DNS name up to 253', () => {
    expect(codeOf(() => validateTrustDomain('a.b-c.d'))).toBeUndefined();
    const long = Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.'); // 255
    expect(codeOf(() => validateTrustDomain(long))).toBe('PLX_CERTS_BAD_IDENTITY');
    expect(codeOf(() => validateTrustDomain(long.slice(2)))).toBeUndefined(); // 253
    expect(codeOf(() => validateTrustDomain('a..b'))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it('names by kind', () => {
    expect(codeOf(() => validateName('cluster', 'a'.repeat(63)))).toBeUndefined();
    expect(codeOf(() => validateName('user', 'a'.repeat(64)))).toBeUndefined();
    expect(codeOf(() => validateName('user', 'a'.repeat(65)))).toBe('PLX_CERTS_BAD_IDENTITY');
    expect(codeOf(() => validateName('admin', 'ops@x.io'))).toBeUndefined();
    expect(codeOf(() => validateName('cluster', 'ops@x.io'))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it.each(['system:masters', 'dev', 'Team.A_b-1', 'a'])('accepts group %s', (g) => {
    expect(codeOf(() => validateGroup(g))).toBeUndefined();
  });

  it.each(['', ':a', 'a:', 'a b', 'a,b', 'a=b', 'a+b', 'x'.repeat(65)])('rejects group %j', (g) => {
    expect(codeOf(() => validateGroup(g))).toBe('PLX_CERTS_BAD_IDENTITY');
  });

  it('common names: 1..64 printable characters without surrounding spaces', () => {
    expect(codeOf(() => validateCommonName('system:node:c1'))).toBeUndefined();
    expect(codeOf(() => validateCommonName('Ünïcode ok'))).toBeUndefined();
    for (const bad of ['', ' a', 'a ', 'a\nb', 'a\u0000', 'x'.repeat(65)]) {
      expect(codeOf(() => validateCommonName(bad))).toBe('PLX_CERTS_BAD_ARGUMENT');
    }
  });
});
