import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, WatchEvent } from '../../broker/api/catalog.ts';
import type { RevokedUserList } from '../../broker/api/users.ts';
import { WatchDispatcher } from '../broker-client/watch-dispatcher.ts';
import { RevocationFeed } from './revocation-feed.ts';
import { RevokedUsers } from './revoked-users.ts';

const snapshot: CatalogSnapshot = { revision: 1, services: [], exports: [], clusters: [], advertisements: [] };
const flush = () => new Promise((r) => setImmediate(r));

function setup(lists: (RevokedUserList | Error)[], now: () => Date = () => new Date(0)) {
  const revoked = new RevokedUsers();
  const timers: (() => void)[] = [];
  let calls = 0;
  const feed = new RevocationFeed({
    revoked, logger: pino({ level: 'silent' }), retryBaseMs: 10, retryMaxMs: 100, now,
    fetchList: async () => {
      const next = lists[Math.min(calls++, lists.length - 1)]!;
      if (next instanceof Error) throw next;
      return next;
    },
    setTimeout: (fn) => timers.push(fn), clearTimeout: () => undefined,
  });
  // The catalog watch's dispatcher, as main.ts wires it: the feed follows it beside the catalog.
  const stream = new WatchDispatcher();
  feed.follow(stream);
  return { feed, revoked, timers, stream, calls: () => calls };
}

describe('RevocationFeed', () => {
  it('follows the catalog watch beside the other parts: user-revoked events reach the revoked set, and every other subscriber still gets them', () => {
    const { stream, revoked } = setup([{ users: [] }]);
    const seen: WatchEvent[] = [];
    stream.on('userRevoked', (e) => seen.push(e));
    const event: WatchEvent = { type: 'user-revoked', revision: 7, name: 'alice', revokedAt: '2030-01-01T00:00:00Z' };
    stream.apply(event);
    expect(revoked.isRevoked('alice')).toBe(true);
    expect(seen).toEqual([event]);
  });

  it('fetches the full list after every snapshot and stays not ready until one arrives (retrying failures)', async () => {
    const { stream: sink, revoked, timers, calls } = setup([new Error('broker down'), { users: [{ name: 'bob', revokedAt: '2030-01-01T00:00:00Z' }] }]);
    sink.replace(snapshot);
    await flush();
    expect(revoked.ready).toBe(false);
    expect(timers).toHaveLength(1);
    timers.shift()!();
    await flush();
    expect(revoked.ready).toBe(true);
    expect(revoked.isRevoked('bob')).toBe(true);
    expect(calls()).toBe(2);
  });

  it('marks the list current as of when it was asked for, and again at every watch bookmark (which other subscribers get too)', async () => {
    let t = 1_000;
    const { stream: sink, revoked } = setup([{ users: [] }], () => new Date(t));
    const bookmarks: number[] = [];
    sink.on('bookmark', (r) => bookmarks.push(r));
    sink.replace(snapshot);
    t = 5_000;
    await flush();
    expect(revoked.staleForMs(new Date(t))).toBe(4_000);
    t = 9_000;
    sink.current(3);
    expect(revoked.staleForMs(new Date(t))).toBe(0);
    expect(bookmarks).toEqual([3]);
    // A failed fetch changes nothing.
    expect(revoked.staleForMs(new Date(12_000))).toBe(3_000);
  });

  it('does not count a bookmark after a relist as current until the relisted list arrived (compacted revocations come only with it)', async () => {
    let t = 1_000;
    const { stream: sink, revoked, timers } = setup([{ users: [] }, new Error('broker down'), { users: [{ name: 'eve', revokedAt: '2030-01-01T00:00:00Z' }] }], () => new Date(t));
    sink.replace(snapshot);
    await flush();
    t = 2_000;
    sink.replace(snapshot);
    await flush();
    t = 3_000;
    sink.current(5);
    expect(revoked.staleForMs(new Date(t))).toBe(2_000);
    timers.shift()!();
    await flush();
    expect(revoked.isRevoked('eve')).toBe(true);
    t = 4_000;
    sink.current(6);
    expect(revoked.staleForMs(new Date(t))).toBe(0);
  });

  it('coalesces refreshes: one in flight, at most one queued', async () => {
    const { feed, calls } = setup([{ users: [] }]);
    feed.refresh();
    feed.refresh();
    feed.refresh();
    await flush();
    await flush();
    expect(calls()).toBe(2);
  });

  it('keeps one retry timer: a refresh while a retry waits cancels it, and stop() cancels the last', async () => {
    const pending = new Set<number>();
    let next = 0;
    const feed = new RevocationFeed({
      revoked: new RevokedUsers(), logger: pino({ level: 'silent' }), retryBaseMs: 10, retryMaxMs: 100, now: () => new Date(0),
      fetchList: async () => { throw new Error('broker down'); },
      setTimeout: () => { pending.add(++next); return next; }, clearTimeout: (h) => pending.delete(h as number),
    });
    feed.refresh();
    await flush();
    feed.refresh();
    await flush();
    expect([...pending]).toEqual([2]);
    feed.stop();
    expect(pending.size).toBe(0);
  });
});
