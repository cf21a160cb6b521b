import { describe, expect, it } from 'vitest';
import { isSanDnsName } from '../../certs/dns-name.ts';
import { validateName, validateTrustDomain } from '../../certs/identity.ts';
import { CLUSTER_ID_RULE, LABEL_VALUE, clusterIdSchema, isClusterId, isDnsLabel, isDnsName, isDnsSubdomain, isNonEmptyLabelValue, namespaceSchema, userNameSchema } from './names.ts';

const label63 = `a${'b'.repeat(61)}c`;
const label64 = `a${'b'.repeat(62)}c`;

describe('the one RFC-1123 label rule', () => {
  it.each([
    ['a', true], ['0', true], ['east-1', true], ['a-b-c', true], ['1a', true], [label63, true],
    [label64, false], ['', false], ['-a', false], ['a-', false], ['-', false], ['East-1', false], ['EAST', false],
    ['a_b', false], ['a.b', false], ['a b', false], [' a', false], ['é', false], ['a\n', false],
  ])('label %j → %s', (s, ok) => {
    expect(isDnsLabel(s)).toBe(ok);
    // Cluster IDs, namespaces and identity cluster names are that same rule, everywhere.
    expect(isClusterId(s)).toBe(ok);
    expect(clusterIdSchema.safeParse(s).success).toBe(ok);
    expect(namespaceSchema.safeParse(s).success).toBe(ok);
    if (ok) expect(() => validateName('cluster', s)).not.toThrow();
    else expect(() => validateName('cluster', s)).toThrow(expect.objectContaining({ code: 'PLX_CERTS_BAD_IDENTITY' }));
  });

  it('keeps the cluster ID message users see', () => {
    const r = clusterIdSchema.safeParse('East_1');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be an RFC-1123 label: lowercase alphanumerics and "-", at most 63 characters');
    expect(`must be ${CLUSTER_ID_RULE}`).toBe(r.error?.issues[0]?.message);
  });
});

describe('DNS names (host names, SANs, trust domains)', () => {
  const name253 = [label63, label63, label63, 'a'.repeat(61)].join('.');
  it.each([
    ['acme.example', true], ['a', true], ['broker-1.acme.example', true], [name253, true],
    [`${name253}b`, false], ['', false], ['acme.example.', false], ['.acme', false], ['a..b', false],
    ['Acme.example', false], [`${label64}.example`, false], ['-a.example', false], ['a-.example', false], ['*.acme.example', false],
  ])('name %j → %s', (s, ok) => {
    expect(isDnsName(s)).toBe(ok);
    if (ok) expect(() => validateTrustDomain(s)).not.toThrow();
    else expect(() => validateTrustDomain(s)).toThrow(expect.objectContaining({ code: 'PLX_CERTS_BAD_IDENTITY' }));
  });

  it('a SAN may have one leading wildcard label and nothing else special', () => {
    expect(isSanDnsName('*.acme.example')).toBe(true);
    expect(isSanDnsName('acme.example')).toBe(true);
    for (const bad of ['*', '*.', 'a.*.example', '**.acme', `*.${label64}`, '*.Acme']) expect(isSanDnsName(bad)).toBe(false);
  });

  it('a Kubernetes DNS subdomain may have labels longer than 63 but not more than 253 characters', () => {
    expect(isDnsSubdomain(`${label64}.x`)).toBe(true);
    expect(isDnsSubdomain('a'.repeat(253))).toBe(true);
    for (const bad of ['a'.repeat(254), '', 'A', 'a.', '-a', 'a_b']) expect(isDnsSubdomain(bad)).toBe(false);
  });
});

describe('person names', () => {
  it('allows "._@-" inside, at most 64 characters, lowercase', () => {
    for (const ok of ['alice', 'alice@acme.example', 'a.b_c-d', 'a'.repeat(64)]) expect(userNameSchema.safeParse(ok).success).toBe(true);
    for (const bad of ['', 'Alice', '.alice', 'alice@', 'a'.repeat(65), 'a b']) expect(userNameSchema.safeParse(bad).success).toBe(false);
  });
});

describe('label values (labels, zones, regions)', () => {
  it('is empty or up to 63 of [A-Za-z0-9-_.], alphanumeric at both ends', () => {
    for (const ok of ['', 'a', 'eu-west-1a', 'Zone_A.1', 'x'.repeat(63)]) expect(LABEL_VALUE.test(ok)).toBe(true);
    for (const bad of ['x'.repeat(64), '-a', 'a-', '_a', 'a b', 'a/b']) expect(LABEL_VALUE.test(bad)).toBe(false);
    expect(isNonEmptyLabelValue('')).toBe(false);
    expect(isNonEmptyLabelValue('eu-west-1a')).toBe(true);
  });
});
