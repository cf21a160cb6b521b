import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Controller, TerminalError, type Reconciler, type Result } from './controller.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';

const logger = pino({ level: 'silent' });

function setup(behaviour: (key: string, call: number) => Result | Error) {
  const timers = new FakeTimers();
  const calls: string[] = [];
  const reconciler: Reconciler = {
    async reconcile(key) {
      calls.push(key);
      const out = behaviour(key, calls.filter((k) => k === key).length);
      if (out instanceof Error) throw out;
      return out;
    },
  };
  const c = new Controller({ name: 't', reconciler, logger, timers, workers: 2, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
  return { c, timers, calls };
}

describe('Controller', () => {
  it('requeues a key with backoff after an error and forgets it after success', async () => {
    const { c, timers, calls } = setup((_k, n) => (n < 3 ? new Error('boom') : undefined));
    c.start();
    c.enqueue('ns/a');
    await c.idle();
    expect(timers.pendingDelays()).toEqual([100]);
    timers.fireNext();
    await c.idle();
    expect(timers.pendingDelays()).toEqual([200]);
    timers.fireNext();
    await c.idle();
    expect(calls).toEqual(['ns/a', 'ns/a', 'ns/a']);
    expect(timers.pendingCount).toBe(0);
    expect(c.queue.numRequeues('ns/a')).toBe(0);
    await c.stop();
  });

  it('does not retry a TerminalError', async () => {
    const { c, timers, calls } = setup(() => new TerminalError('bad input'));
    c.start();
    c.enqueue('ns/a');
    await c.idle();
    expect(calls).toEqual(['ns/a']);
    expect(timers.pendingCount).toBe(0);
    await c.stop();
  });

  it('honours requeueAfterMs', async () => {
    const { c, timers, calls } = setup((_k, n) => (n === 1 ? { requeueAfterMs: 5000 } : undefined));
    c.start();
    c.enqueue('a');
    await c.idle();
    expect(timers.pendingDelays()).toEqual([5000]);
    timers.advance(5000);
    await c.idle();
    expect(calls).toEqual(['a', 'a']);
    await c.stop();
  });

  it('never reconciles one key concurrently, even with several workers', async () => {
    const timers = new FakeTimers();
    let active = 0;
    let maxActive = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let calls = 0;
    const reconciler: Reconciler = {
      async reconcile() {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (calls === 1) await gate;
        active--;
      },
    };
    const c = new Controller({ name: 't', reconciler, logger, timers, workers: 4 });
    c.start();
    c.enqueue('k');
    await Promise.resolve();
    c.enqueue('k');
    c.enqueue('k');
    release();
    await c.idle();
    expect(maxActive).toBe(1);
    expect(calls).toBe(2);
    await c.stop();
  });
});
