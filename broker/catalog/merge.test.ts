import { describe, expect, it } from 'vitest';
import type { ServicePort } from '../api/catalog.ts';
import { compareExports, mergeService, type MergeInput } from './merge.ts';

const tcp = (port: number, name?: string): ServicePort => ({ ...(name ? { name } : {}), protocol: 'TCP', port });

function exp(cluster: string, createdAt: string, o: Partial<MergeInput> = {}): MergeInput {
  return {
    cluster, namespace: 'shop', name: 'cart', createdAt, type: 'ClusterSetIP',
    ports: [tcp(80, 'http')], sessionAffinity: 'None', ...o,
  };
}

const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-01-02T00:00:00Z';
const T3 = '2026-01-03T00:00:00Z';

/** [cluster, conflicts, excluded] per member, oldest first. */
const standing = (m: ReturnType<typeof mergeService>) => m!.members.map((x) => [x.cluster, x.conflicts, x.excluded]);

describe('mergeService', () => {
  it('returns null for no exports', () => {
    expect(mergeService([])).toBeNull();
  });

  it('merges identical exports without conflicts, members oldest first', () => {
    const m = mergeService([exp('b', T2), exp('a', T1)])!;
    expect(m).toEqual({
      namespace: 'shop', name: 'cart', type: 'ClusterSetIP', ports: [tcp(80, 'http')], sessionAffinity: 'None',
      exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
      members: [
        { cluster: 'a', createdAt: T1, conflicts: [], excluded: false },
        { cluster: 'b', createdAt: T2, conflicts: [], excluded: false },
      ],
    });
  });

  it('breaks createdAt ties by cluster ID', () => {
    const m = mergeService([exp('zeta', T1, { type: 'Headless' }), exp('alpha', T1)])!;
    expect(m.type).toBe('ClusterSetIP');
    expect(m.members.map((x) => x.cluster)).toEqual(['alpha', 'zeta']);
    expect(m.members[1]).toMatchObject({ conflicts: ['TypeConflict'], excluded: true });
  });

  it('compares timestamps by instant, not by text (offsets)', () => {
    // 01:00+02:00 is 23:00Z of the previous day: older than 00:00Z.
    const older = exp('z', '2026-01-02T01:00:00+02:00');
    const newer = exp('a', '2026-01-02T00:00:00Z');
    expect(compareExports(older, newer)).toBeLessThan(0);
    expect(mergeService([newer, older])!.members[0]!.cluster).toBe('z');
  });

  it('is deterministic regardless of input order', () => {
    const xs = [exp('c', T3, { ports: [tcp(9090, 'metrics')] }), exp('a', T1, { ports: [tcp(443, 'https'), tcp(80, 'http')] }), exp('b', T2, { type: 'Headless' })];
    const first = JSON.stringify(mergeService(xs));
    expect(JSON.stringify(mergeService([...xs].reverse()))).toBe(first);
    expect(JSON.stringify(mergeService([xs[1]!, xs[2]!, xs[0]!]))).toBe(first);
  });

  it('merges the same ports listed in another order without a conflict', () => {
    const m = mergeService([exp('a', T1, { ports: [tcp(443, 'https'), tcp(80, 'http')] }), exp('b', T2, { ports: [tcp(80, 'http'), tcp(443, 'https')] })])!;
    expect(m.ports).toEqual([tcp(80, 'http'), tcp(443, 'https')]);
    expect(standing(m)).toEqual([['a', [], false], ['b', [], false]]);
  });

  describe('ports must match exactly (name, protocol, port)', () => {
    it('unions differing port lists but raises PortConflict on every export involved (conformance: union and conflict)', () => {
      // The suite's spec: cluster 1 exports tcp/42 and udp/42, cluster 2 tcp/42 and stcp/142 (SCTP).
      const m = mergeService([
        exp('c1', T1, { ports: [{ name: 'tcp', protocol: 'TCP', port: 42 }, { name: 'udp', protocol: 'UDP', port: 42 }] }),
        exp('c2', T2, { ports: [{ name: 'tcp', protocol: 'TCP', port: 42 }, { name: 'stcp', protocol: 'SCTP', port: 142 }] }),
      ])!;
      expect(m.ports).toEqual([
        { name: 'tcp', protocol: 'TCP', port: 42 }, { name: 'udp', protocol: 'UDP', port: 42 }, { name: 'stcp', protocol: 'SCTP', port: 142 },
      ]);
      expect(standing(m)).toEqual([['c1', ['PortConflict'], false], ['c2', ['PortConflict'], false]]);
    });

    it('keeps the oldest definition of a same-named port with another number, conflict on both exports', () => {
      const m = mergeService([exp('b', T2, { ports: [tcp(8080, 'http')] }), exp('a', T1, { ports: [tcp(80, 'http')] })])!;
      expect(m.ports).toEqual([tcp(80, 'http')]);
      expect(standing(m)).toEqual([['a', ['PortConflict'], false], ['b', ['PortConflict'], false]]);
    });

    it('flags a same-named port with another protocol', () => {
      const m = mergeService([exp('a', T1), exp('b', T2, { ports: [{ name: 'http', protocol: 'UDP', port: 80 }] })])!;
      expect(m.ports).toEqual([tcp(80, 'http')]);
      expect(standing(m)).toEqual([['a', ['PortConflict'], false], ['b', ['PortConflict'], false]]);
    });

    it('flags the same protocol and port under another name', () => {
      const m = mergeService([exp('a', T1), exp('b', T2, { ports: [tcp(80, 'web')] })])!;
      expect(m.ports).toEqual([tcp(80, 'http')]);
      expect(m.members.every((x) => x.conflicts.includes('PortConflict'))).toBe(true);
    });

    it('flags a differing appProtocol and keeps the oldest', () => {
      const m = mergeService([
        exp('a', T1, { ports: [{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }] }),
        exp('b', T2, { ports: [{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'kubernetes.io/h2c' }] }),
      ])!;
      expect(m.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }]);
      expect(standing(m)).toEqual([['a', ['PortConflict'], false], ['b', ['PortConflict'], false]]);
    });

    it('keeps the non-conflicting ports of an export that has a port conflict', () => {
      const m = mergeService([exp('a', T1), exp('b', T2, { ports: [tcp(8080, 'http'), tcp(9090, 'metrics')] })])!;
      expect(m.ports).toEqual([tcp(80, 'http'), tcp(9090, 'metrics')]);
      expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
    });

    it('mixing an unnamed and a named port across exports is a PortConflict on both and the union stays a valid Service (one unnamed port stands alone)', () => {
      // A Service with several ports needs every port named: the derived Service was refused by the API server.
      const unnamedFirst = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [tcp(9090, 'metrics')] })])!;
      expect(unnamedFirst.ports).toEqual([tcp(80)]);
      expect(standing(unnamedFirst)).toEqual([['a', ['PortConflict'], false], ['b', ['PortConflict'], false]]);
      const namedFirst = mergeService([exp('a', T1, { ports: [tcp(80, 'http')] }), exp('b', T2, { ports: [tcp(9090)] })])!;
      expect(namedFirst.ports).toEqual([tcp(80, 'http')]);
      expect(standing(namedFirst)).toEqual([['a', ['PortConflict'], false], ['b', ['PortConflict'], false]]);
      const sameNumber = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [tcp(80, 'http')] })])!;
      expect(sameNumber.ports).toEqual([tcp(80)]);
      expect(sameNumber.members.every((x) => x.conflicts.includes('PortConflict'))).toBe(true);
    });

    it('merges identical unnamed single ports, and refuses a second unnamed port', () => {
      expect(standing(mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [tcp(80)] })]))).toEqual([['a', [], false], ['b', [], false]]);
      const m = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [{ protocol: 'UDP', port: 80 }] })])!;
      expect(m.ports).toEqual([tcp(80)]);
      expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
    });

    it('the union never holds an unnamed port beside another one, whatever the exports', () => {
      const shapes: ServicePort[][] = [[tcp(80)], [tcp(81)], [tcp(80, 'http')], [tcp(81, 'alt'), tcp(82, 'b')], [{ protocol: 'UDP', port: 80 }], []];
      for (const a of shapes) for (const b of shapes) for (const c of shapes) {
        const m = mergeService([exp('a', T1, { ports: a }), exp('b', T2, { ports: b }), exp('c', T3, { ports: c })])!;
        if (m.ports.length > 1) expect(m.ports.every((p) => p.name !== undefined)).toBe(true);
        expect(new Set(m.ports.map((p) => p.name)).size).toBe(m.ports.length);
        expect(new Set(m.ports.map((p) => `${p.protocol}/${p.port}`)).size).toBe(m.ports.length);
      }
    });
  });

  it('excludes an export of another type: TypeConflict on both, only the newer is excluded, its ports stay out', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { type: 'Headless', ports: [tcp(9090, 'metrics')] })])!;
    expect(m.type).toBe('ClusterSetIP');
    expect(m.ports).toEqual([tcp(80, 'http')]);
    expect(standing(m)).toEqual([['a', ['TypeConflict'], false], ['b', ['TypeConflict'], true]]);
  });

  it('does not let an excluded export block ports of a later one', () => {
    const m = mergeService([
      exp('a', T1, { ports: [tcp(80, 'http'), tcp(9091, 'metrics')] }),
      exp('b', T2, { type: 'Headless', ports: [tcp(9090, 'metrics')] }),
      exp('c', T3, { ports: [tcp(80, 'http'), tcp(9091, 'metrics')] }),
    ])!;
    expect(m.ports).toEqual([tcp(80, 'http'), tcp(9091, 'metrics')]);
    expect(standing(m)).toEqual([['a', ['TypeConflict'], false], ['b', ['TypeConflict'], true], ['c', ['TypeConflict'], false]]);
  });

  it('flips the type when the oldest export is removed', () => {
    const a = exp('a', T1);
    const b = exp('b', T2, { type: 'Headless' });
    const c = exp('c', T3, { type: 'Headless' });
    expect(mergeService([a, b, c])!.type).toBe('ClusterSetIP');
    const flipped = mergeService([b, c])!;
    expect(flipped.type).toBe('Headless');
    expect(flipped.members.every((x) => !x.excluded && x.conflicts.length === 0)).toBe(true);
  });

  it('follows the oldest session affinity; a differing affinity or timeout conflicts on every export', () => {
    const clientIP = (timeoutSeconds: number): Partial<MergeInput> => ({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds } } });
    const m = mergeService([exp('a', T1, clientIP(600)), exp('b', T2), exp('c', T3, clientIP(30))])!;
    expect(m.sessionAffinity).toBe('ClientIP');
    expect(m.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 600 } });
    expect(standing(m)).toEqual([
      ['a', ['SessionAffinityConflict', 'SessionAffinityConfigConflict'], false],
      ['b', ['SessionAffinityConflict', 'SessionAffinityConfigConflict'], false],
      ['c', ['SessionAffinityConflict', 'SessionAffinityConfigConflict'], false],
    ]);
    const onlyTimeout = mergeService([exp('a', T1, clientIP(600)), exp('b', T2, clientIP(30))])!;
    expect(standing(onlyTimeout)).toEqual([['a', ['SessionAffinityConfigConflict'], false], ['b', ['SessionAffinityConfigConflict'], false]]);
  });

  it('ignores a session affinity config when affinity is None', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } })])!;
    expect(m.members[1]!.conflicts).toEqual([]);
    expect(m.sessionAffinityConfig).toBeUndefined();
  });

  describe('exported labels and annotations (ServiceExport spec)', () => {
    it('carries the exports\' labels and annotations when they agree', () => {
      const o = { exportedLabels: { tier: 'web' }, exportedAnnotations: { 'example.com/owner': 'team-a' } };
      const m = mergeService([exp('a', T1, o), exp('b', T2, o)])!;
      expect(m).toMatchObject(o);
      expect(standing(m)).toEqual([['a', [], false], ['b', [], false]]);
    });

    it('conflicting labels and annotations: the oldest export\'s are used, LabelsConflict and AnnotationsConflict on each export (conformance)', () => {
      const m = mergeService([
        exp('c2', T2, { exportedLabels: { 'dummy-label2': 'true' }, exportedAnnotations: { 'dummy-annotation2': 'true' } }),
        exp('c1', T1, { exportedLabels: { 'dummy-label': 'true' }, exportedAnnotations: { 'dummy-annotation': 'true' } }),
      ])!;
      expect(m.exportedLabels).toEqual({ 'dummy-label': 'true' });
      expect(m.exportedAnnotations).toEqual({ 'dummy-annotation': 'true' });
      expect(standing(m)).toEqual([['c1', ['LabelsConflict', 'AnnotationsConflict'], false], ['c2', ['LabelsConflict', 'AnnotationsConflict'], false]]);
    });

    it('an export without exported labels differs from one with them; an older agent (field absent) counts as none', () => {
      const m = mergeService([exp('a', T1, { exportedLabels: { x: '1' } }), exp('b', T2)])!;
      expect(m.members.map((x) => x.conflicts)).toEqual([['LabelsConflict'], ['LabelsConflict']]);
      expect(standing(mergeService([exp('a', T1, { exportedLabels: {} }), exp('b', T2)]))).toEqual([['a', [], false], ['b', [], false]]);
    });
  });

  describe('internalTrafficPolicy, trafficDistribution, ipFamilies', () => {
    it('takes them from the oldest export', () => {
      const m = mergeService([exp('a', T1, { internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose', ipFamilies: ['IPv6', 'IPv4'] })])!;
      expect(m).toMatchObject({ internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose', ipFamilies: ['IPv6', 'IPv4'] });
    });

    it('raises InternalTrafficPolicyConflict and TrafficDistributionConflict on every export, the oldest wins', () => {
      const m = mergeService([
        exp('a', T1, { internalTrafficPolicy: 'Local', trafficDistribution: 'PreferClose' }),
        exp('b', T2, { internalTrafficPolicy: 'Cluster' }),
      ])!;
      expect(m.internalTrafficPolicy).toBe('Local');
      expect(m.trafficDistribution).toBe('PreferClose');
      expect(m.members.map((x) => x.conflicts)).toEqual([
        ['InternalTrafficPolicyConflict', 'TrafficDistributionConflict'], ['InternalTrafficPolicyConflict', 'TrafficDistributionConflict'],
      ]);
    });

    it('treats an absent internalTrafficPolicy (older agent) as the API server default Cluster', () => {
      expect(standing(mergeService([exp('a', T1, { internalTrafficPolicy: 'Cluster' }), exp('b', T2)]))).toEqual([['a', [], false], ['b', [], false]]);
    });

    it('compares IP families as a set: another primary family is no conflict, another set is IPFamilyConflict', () => {
      expect(standing(mergeService([exp('a', T1, { ipFamilies: ['IPv4', 'IPv6'] }), exp('b', T2, { ipFamilies: ['IPv6', 'IPv4'] })])))
        .toEqual([['a', [], false], ['b', [], false]]);
      const m = mergeService([exp('a', T1, { ipFamilies: ['IPv4'] }), exp('b', T2, { ipFamilies: ['IPv4', 'IPv6'] })])!;
      expect(m.ipFamilies).toEqual(['IPv4']);
      expect(m.members.map((x) => x.conflicts)).toEqual([['IPFamilyConflict'], ['IPFamilyConflict']]);
    });

    it('unknown families (older agent) agree with any and are filled from the next export that names them', () => {
      const m = mergeService([exp('a', T1), exp('b', T2, { ipFamilies: ['IPv6'] })])!;
      expect(m.ipFamilies).toEqual(['IPv6']);
      expect(standing(m)).toEqual([['a', [], false], ['b', [], false]]);
    });
  });

  it('reports every reason that applies, joined in a fixed order, on every export', () => {
    const m = mergeService([
      exp('a', T1),
      exp('b', T2, { ports: [tcp(81, 'http')], sessionAffinity: 'ClientIP', exportedLabels: { x: 'y' }, trafficDistribution: 'PreferClose' }),
    ])!;
    const all = ['PortConflict', 'SessionAffinityConflict', 'LabelsConflict', 'TrafficDistributionConflict'];
    expect(m.members.map((x) => x.conflicts)).toEqual([all, all]);
    const t = mergeService([exp('a', T1), exp('b', T2, { type: 'Headless', sessionAffinity: 'ClientIP' })])!;
    expect(standing(t)).toEqual([['a', ['TypeConflict', 'SessionAffinityConflict'], false], ['b', ['TypeConflict', 'SessionAffinityConflict'], true]]);
  });

  it('a ClusterSetIP and a selector-less headless export are a TypeConflict, not an IPFamilyConflict (headless gets both families on a single-stack cluster)', () => {
    const m = mergeService([exp('a', T1, { ipFamilies: ['IPv4'] }), exp('b', T2, { type: 'Headless', ipFamilies: ['IPv4', 'IPv6'] })])!;
    expect(standing(m)).toEqual([['a', ['TypeConflict'], false], ['b', ['TypeConflict'], true]]);
  });

  it('does not alias the input port objects or maps', () => {
    const ports = [tcp(80, 'http')];
    const exportedLabels = { a: 'b' };
    const m = mergeService([exp('a', T1, { ports, exportedLabels })])!;
    m.ports[0]!.port = 1;
    m.exportedLabels.a = 'c';
    expect(ports[0]!.port).toBe(80);
    expect(exportedLabels.a).toBe('b');
  });
});
