import { describe, expect, it } from 'vitest';
import { conditionsEqual, mergeConditions } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-02T00:00:00Z');

describe('mergeConditions', () => {
  it('stamps new conditions with the current time in seconds precision', () => {
    const out = mergeConditions(undefined, [{ type: 'Valid', status: 'True', reason: 'Valid', message: 'ok' }], t0);
    expect(out).toEqual([{ type: 'Valid', status: 'True', reason: 'Valid', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });
  it('keeps lastTransitionTime while the status holds, even when reason or message change', () => {
    const prev = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'Pending', message: 'a' }], t0);
    const next = mergeConditions(prev, [{ type: 'Ready', status: 'False', reason: 'Failed', message: 'b' }], t1);
    expect(next[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    const flipped = mergeConditions(next, [{ type: 'Ready', status: 'True', reason: 'Exported', message: '' }], t1);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-01-02T00:00:00Z');
  });
  it('drops conditions no longer desired', () => {
    const prev = mergeConditions(undefined, [{ type: 'A', status: 'True', reason: 'X', message: '' }, { type: 'B', status: 'True', reason: 'Y', message: '' }], t0);
    expect(mergeConditions(prev, [{ type: 'A', status: 'True', reason: 'X', message: '' }], t1).map((c) => c.type)).toEqual(['A']);
  });
});

describe('conditionsEqual', () => {
  it('ignores order and compares every field', () => {
    const a = mergeConditions(undefined, [{ type: 'A', status: 'True', reason: 'X', message: '' }, { type: 'B', status: 'False', reason: 'Y', message: 'm' }], t0);
    expect(conditionsEqual(a, [...a].reverse())).toBe(true);
    expect(conditionsEqual(a, [a[0]!, { ...a[1]!, message: 'other' }])).toBe(false);
    expect(conditionsEqual(undefined, [])).toBe(true);
  });
});
