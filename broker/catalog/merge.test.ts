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

describe('mergeService', () => {
  it('returns null for no exports', () => {
    expect(mergeService([])).toBeNull();
  });

  it('merges identical exports without conflicts, members oldest first', () => {
    const m = mergeService([exp('b', T2), exp('a', T1)])!;
    expect(m).toEqual({
      namespace: 'shop', name: 'cart', type: 'ClusterSetIP', ports: [tcp(80, 'http')], sessionAffinity: 'None',
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

  it('unions ports across exports, sorted by port, protocol and name', () => {
    const m = mergeService([
      exp('a', T1, { ports: [tcp(443, 'https'), tcp(80, 'http')] }),
      exp('b', T2, { ports: [tcp(80, 'http'), tcp(9090, 'metrics'), { name: 'dns', protocol: 'UDP', port: 53 }] }),
    ])!;
    expect(m.ports).toEqual([{ name: 'dns', protocol: 'UDP', port: 53 }, tcp(80, 'http'), tcp(443, 'https'), tcp(9090, 'metrics')]);
    expect(m.members.every((x) => x.conflicts.length === 0)).toBe(true);
  });

  it('merges an unnamed port by protocol and port', () => {
    const m = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [tcp(80)] })])!;
    expect(m.ports).toEqual([tcp(80)]);
    expect(m.members.map((x) => x.conflicts)).toEqual([[], []]);
  });

  it('mixing a named and an unnamed port across exports is a PortConflict on both, not a union the API server refuses (spec.ports[1].name: Required value)', () => {
    const unnamedFirst = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [tcp(8080, 'http')] })])!;
    expect(unnamedFirst.ports).toEqual([tcp(80)]);
    expect(unnamedFirst.members.map((x) => x.conflicts)).toEqual([['PortConflict'], ['PortConflict']]);
    const namedFirst = mergeService([exp('a', T1, { ports: [tcp(80, 'http'), tcp(443, 'https')] }), exp('b', T2, { ports: [tcp(8080)] }), exp('c', T3, { ports: [tcp(80, 'http')] })])!;
    expect(namedFirst.ports).toEqual([tcp(80, 'http'), tcp(443, 'https')]);
    expect(namedFirst.members.map((x) => [x.cluster, x.conflicts])).toEqual([['a', ['PortConflict']], ['b', ['PortConflict']], ['c', []]]);
    const twoUnnamed = mergeService([exp('a', T1, { ports: [tcp(80)] }), exp('b', T2, { ports: [{ protocol: 'UDP', port: 80 }] })])!;
    expect(twoUnnamed.ports).toEqual([tcp(80)]);
    expect(twoUnnamed.members.map((x) => x.conflicts)).toEqual([['PortConflict'], ['PortConflict']]);
  });

  it('flags a same-named port with another number on both exports involved; the oldest wins', () => {
    const m = mergeService([exp('b', T2, { ports: [tcp(8080, 'http')] }), exp('a', T1, { ports: [tcp(80, 'http')] })])!;
    expect(m.ports).toEqual([tcp(80, 'http')]);
    expect(m.members).toEqual([
      { cluster: 'a', createdAt: T1, conflicts: ['PortConflict'], excluded: false },
      { cluster: 'b', createdAt: T2, conflicts: ['PortConflict'], excluded: false },
    ]);
  });

  it('flags a same-named port with another protocol', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { ports: [{ name: 'http', protocol: 'UDP', port: 80 }] })])!;
    expect(m.ports).toEqual([tcp(80, 'http')]);
    expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
  });

  it('flags the same protocol and port under another name', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { ports: [tcp(80, 'web')] })])!;
    expect(m.ports).toEqual([tcp(80, 'http')]);
    expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
  });

  it('flags a differing appProtocol and keeps the oldest', () => {
    const m = mergeService([
      exp('a', T1, { ports: [{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }] }),
      exp('b', T2, { ports: [{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'kubernetes.io/h2c' }] }),
    ])!;
    expect(m.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 80, appProtocol: 'http' }]);
    expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
  });

  it('keeps the non-conflicting ports of an export that has a port conflict', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { ports: [tcp(8080, 'http'), tcp(9090, 'metrics')] })])!;
    expect(m.ports).toEqual([tcp(80, 'http'), tcp(9090, 'metrics')]);
    expect(m.members[1]!.conflicts).toEqual(['PortConflict']);
  });

  it('excludes an export of another type: TypeConflict, its ports stay out', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { type: 'Headless', ports: [tcp(9090, 'metrics')] })])!;
    expect(m.type).toBe('ClusterSetIP');
    expect(m.ports).toEqual([tcp(80, 'http')]);
    expect(m.members[1]).toEqual({ cluster: 'b', createdAt: T2, conflicts: ['TypeConflict'], excluded: true });
  });

  it('does not let an excluded export block ports of a later one', () => {
    const m = mergeService([
      exp('a', T1),
      exp('b', T2, { type: 'Headless', ports: [tcp(9090, 'metrics')] }),
      exp('c', T3, { ports: [tcp(9091, 'metrics')] }),
    ])!;
    expect(m.ports).toEqual([tcp(80, 'http'), tcp(9091, 'metrics')]);
    expect(m.members[2]!.conflicts).toEqual([]);
  });

  it('flips the type when the oldest export is removed', () => {
    const a = exp('a', T1);
    const b = exp('b', T2, { type: 'Headless' });
    const c = exp('c', T3, { type: 'Headless', ports: [tcp(81, 'alt')] });
    expect(mergeService([a, b, c])!.type).toBe('ClusterSetIP');
    const flipped = mergeService([b, c])!;
    expect(flipped.type).toBe('Headless');
    expect(flipped.ports).toEqual([tcp(80, 'http'), tcp(81, 'alt')]);
    expect(flipped.members.every((x) => !x.excluded && x.conflicts.length === 0)).toBe(true);
  });

  it('follows the oldest session affinity and flags, without excluding, a differing one', () => {
    const m = mergeService([
      exp('a', T1, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
      exp('b', T2),
      exp('c', T3, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } } }),
      exp('d', '2026-01-04T00:00:00Z', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
    ])!;
    expect(m.sessionAffinity).toBe('ClientIP');
    expect(m.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 600 } });
    expect(m.members.map((x) => [x.cluster, x.conflicts, x.excluded])).toEqual([
      ['a', [], false], ['b', ['SessionAffinityConflict'], false], ['c', ['SessionAffinityConflict'], false], ['d', [], false],
    ]);
  });

  it('ignores a session affinity config when affinity is None', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } })])!;
    expect(m.members[1]!.conflicts).toEqual([]);
    expect(m.sessionAffinityConfig).toBeUndefined();
  });

  it('reports several reasons on one member in a fixed order', () => {
    const m = mergeService([exp('a', T1), exp('b', T2, { ports: [tcp(81, 'http')], sessionAffinity: 'ClientIP' })])!;
    expect(m.members[1]!.conflicts).toEqual(['PortConflict', 'SessionAffinityConflict']);
    const t = mergeService([exp('a', T1), exp('b', T2, { type: 'Headless', sessionAffinity: 'ClientIP' })])!;
    expect(t.members[1]!.conflicts).toEqual(['TypeConflict', 'SessionAffinityConflict']);
  });

  it('does not alias the input port objects', () => {
    const ports = [tcp(80, 'http')];
    const m = mergeService([exp('a', T1, { ports })])!;
    m.ports[0]!.port = 1;
    expect(ports[0]!.port).toBe(80);
  });
});
