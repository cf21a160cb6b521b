import { describe, expect, it } from 'vitest';
import { Readiness } from './readiness.ts';

describe('Readiness', () => {
  it('is not ready until the controllers run, then follows the watch with a grace period', async () => {
    let resolve!: () => void;
    const ready = new Promise<void>((r) => { resolve = r; });
    const watch = { disconnectedForMs: 0 };
    const r = new Readiness({ ready, watch, graceMs: 1000 });
    expect(r.notReady()).toBe('controllers are starting');
    resolve();
    await ready;
    expect(r.notReady()).toBeNull();
    watch.disconnectedForMs = 1000;
    expect(r.notReady()).toBeNull();
    watch.disconnectedForMs = 5000;
    expect(r.notReady()).toBe('broker watch disconnected for 5 s');
  });

  it('reports controllers that failed to start', async () => {
    const ready = Promise.reject(new Error('boom'));
    const r = new Readiness({ ready, watch: { disconnectedForMs: 0 }, graceMs: 1000 });
    await ready.catch(() => undefined);
    expect(r.notReady()).toBe('controllers failed to start');
  });
});
