import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { WorkQueue } from './work-queue.ts';

const backoff = { baseMs: 100, maxMs: 1000, jitter: 0.5 };

function queue(random = () => 0) {
  const timers = new FakeTimers();
  return { timers, q: new WorkQueue({ timers, backoff, random }) };
}

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands out a key that is being processed; re-adds it on done()', async () => {
    const { q } = queue();
    q.add('a');
    const key = await q.get();
    expect(q.isProcessing('a')).toBe(true);
    q.add('a');
    expect(q.len()).toBe(0);
    q.done(key!);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('does not requeue a processed key that was not added again', async () => {
    const { q } = queue();
    q.add('a');
    q.done((await q.get())!);
    expect(q.len()).toBe(0);
  });

  it('wakes a waiting get() on add', async () => {
    const { q } = queue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
  });

  it('backs off exponentially per key, capped, and forget() resets the count', () => {
    const { q, timers } = queue(() => 0);
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.numRequeues('a')).toBe(5);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
    expect(timers.pendingCount).toBe(1); // a newer delayed add replaces the older one
  });

  it('applies jitter downwards within the configured fraction', () => {
    const { q } = queue(() => 0.999);
    expect(q.addRateLimited('a')).toBe(50);
  });

  it('adds a delayed key when its timer fires', async () => {
    const { q, timers } = queue();
    q.addAfter('a', 500);
    expect(q.len()).toBe(0);
    timers.advance(499);
    expect(q.len()).toBe(0);
    timers.advance(1);
    expect(await q.get()).toBe('a');
  });

  it('addDelayedNow() adds every backed-off key at once and keeps its failure count', async () => {
    const { q, timers } = queue();
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addAfter('b', 30_000);
    q.add('c');
    expect(q.addDelayedNow()).toBe(2);
    expect(timers.pendingCount).toBe(0);
    expect(q.delayedKeys()).toEqual([]);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'a', 'b']);
    expect(q.numRequeues('a')).toBe(2);
    expect(q.addDelayedNow()).toBe(0);
  });

  it('shutDown releases waiting getters and drops delayed keys', async () => {
    const { q, timers } = queue();
    const waiting = q.get();
    q.addAfter('a', 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(timers.pendingCount).toBe(0);
    q.add('b');
    expect(await q.get()).toBeUndefined();
  });
});
