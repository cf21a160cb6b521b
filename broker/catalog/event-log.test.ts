import { describe, expect, it } from 'vitest';
import { EventLog, type LoggedEvent } from './event-log.ts';

const ev = (revision: number): LoggedEvent => ({ revision, line: Buffer.from(`{"type":"bookmark","revision":${revision}}\n`) });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));

describe('EventLog', () => {
  it('starts empty at revision 0 and resumes from 0', () => {
    const log = new EventLog({ retention: 5, head: 0, compactedThrough: 0, events: [] });
    expect([log.head, log.compactedThrough, log.size]).toEqual([0, 0, 0]);
    expect(log.canResume(0)).toBe(true);
    expect(log.canResume(1)).toBe(false);
  });

  it('keeps the last `retention` events and compacts older ones', () => {
    const log = new EventLog({ retention: 3, head: 0, compactedThrough: 0, events: [] });
    log.append(range(1, 2));
    expect([log.head, log.compactedThrough, log.size]).toEqual([2, 0, 2]);
    log.append(range(3, 5));
    expect([log.head, log.compactedThrough, log.size]).toEqual([5, 2, 3]);
    expect(log.get(2)).toBeUndefined();
    expect(log.get(3)?.revision).toBe(3);
    expect(log.get(5)?.revision).toBe(5);
    expect(log.get(6)).toBeUndefined();
  });

  it('can resume exactly from compactedThrough up to the head, not before or beyond', () => {
    const log = new EventLog({ retention: 3, head: 0, compactedThrough: 0, events: [] });
    log.append(range(1, 10));
    expect(log.compactedThrough).toBe(7);
    expect(log.canResume(6)).toBe(false);
    expect(log.canResume(7)).toBe(true);
    expect(log.canResume(10)).toBe(true);
    expect(log.canResume(11)).toBe(false);
  });

  it('tells the store what to delete before the head moves', () => {
    const log = new EventLog({ retention: 4, head: 0, compactedThrough: 0, events: [] });
    expect(log.compactionFor(3)).toBe(0);
    expect(log.compactionFor(10)).toBe(6);
  });

  it('stays O(1) to index after many compactions (bulk prefix drop)', () => {
    const log = new EventLog({ retention: 100, head: 0, compactedThrough: 0, events: [] });
    for (let r = 1; r <= 5000; r++) log.append([ev(r)]);
    expect(log.size).toBe(100);
    for (let r = 4901; r <= 5000; r++) expect(log.get(r)?.revision).toBe(r);
    expect(log.get(4900)).toBeUndefined();
  });

  it('rejects an event that is not the next revision', () => {
    const log = new EventLog({ retention: 3, head: 2, compactedThrough: 0, events: range(1, 2) });
    expect(() => log.append([ev(4)])).toThrow(expect.objectContaining({ code: 'PLX_BROKER_INTERNAL' }));
  });

  it('reloads from the store, applying a smaller retention at once', () => {
    const log = new EventLog({ retention: 2, head: 5, compactedThrough: 1, events: range(2, 5) });
    expect([log.compactedThrough, log.size]).toEqual([3, 2]);
    expect(log.get(4)?.revision).toBe(4);
  });

  it('trusts only a dense run of stored events ending at the head', () => {
    expect(() => new EventLog({ retention: 10, head: 5, compactedThrough: 0, events: [ev(1), ev(3), ev(4), ev(5)] }))
      .toThrow(expect.objectContaining({ code: 'PLX_BROKER_INTERNAL' }));
    const late = new EventLog({ retention: 10, head: 5, compactedThrough: 0, events: range(3, 5) });
    expect(late.compactedThrough).toBe(2);
    const none = new EventLog({ retention: 10, head: 5, compactedThrough: 0, events: [] });
    expect([none.compactedThrough, none.canResume(4), none.canResume(5)]).toEqual([5, false, true]);
  });
});
