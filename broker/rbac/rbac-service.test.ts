// RbacService on an in-memory store double: the compare-and-set on the baseline head.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RbacServiceStore } from './rbac-service.ts';
import { RbacService } from './rbac-service.ts';
import type { StoredBaseline } from './rbac-store.ts';

const t0 = new Date('2030-01-01T00:00:00Z');

/** Baselines in memory; `before` runs inside the first insert, as another replica's write landing first. */
function memoryStore(before?: (rows: StoredBaseline[]) => void): RbacServiceStore & { rows: StoredBaseline[] } {
  const rows: StoredBaseline[] = [];
  let first = true;
  return {
    rows,
    rbac: {
      current: async () => rows.at(-1),
      insert: async (b) => {
        if (first) before?.(rows);
        first = false;
        if ((rows.at(-1)?.revision ?? 0) + 1 !== b.revision) return false;
        rows.push(b);
        return true;
      },
      labels: async () => ({}), allLabels: async () => new Map(), updateLabels: async () => true,
      putStatus: async () => undefined, statuses: async () => [],
    },
    getCluster: async () => undefined,
    listClusters: async () => [],
  };
}

describe('RbacService.apply', () => {
  it('re-plans on the new head when another writer stored a revision first, instead of reusing its number', async () => {
    const store = memoryStore((rows) => rows.push({ revision: 1, hash: 'theirs', document: '{"target":{"all":true},"allowKubeSystem":false,"entries":[]}', createdAt: t0 }));
    const announced: number[] = [];
    const rbac = await RbacService.open({ store, clock: { now: () => t0 }, logger: pino({ level: 'silent' }), announce: (r) => announced.push(r) });
    const res = await rbac.apply({ objects: [], target: { selector: { env: 'prod' } }, allowKubeSystem: false });
    expect(res).toMatchObject({ revision: 2, created: true });
    expect(store.rows.map((r) => r.revision)).toEqual([1, 2]);
    expect(store.rows[1]!.hash).toBe(res.hash);
    expect(announced).toEqual([2]);
  });

  it('makes no revision when the head another writer stored already has the same content', async () => {
    let ours = '';
    const probe = await RbacService.open({ store: memoryStore(), clock: { now: () => t0 }, logger: pino({ level: 'silent' }), announce: () => undefined });
    ours = (await probe.apply({ objects: [], target: { selector: { env: 'prod' } }, allowKubeSystem: false })).hash;
    const store = memoryStore((rows) => rows.push({ revision: 1, hash: ours, document: '{"target":{"selector":{"env":"prod"}},"allowKubeSystem":false,"entries":[]}', createdAt: t0 }));
    const rbac = await RbacService.open({ store, clock: { now: () => t0 }, logger: pino({ level: 'silent' }), announce: () => undefined });
    expect(await rbac.apply({ objects: [], target: { selector: { env: 'prod' } }, allowKubeSystem: false })).toMatchObject({ revision: 1, created: false });
    expect(store.rows).toHaveLength(1);
  });
});
