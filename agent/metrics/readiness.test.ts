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

  it('says why the access proxy refuses everyone, beside a dropped watch', async () => {
    const watch = { disconnectedForMs: 0 };
    let proxy: string | null = null;
    const r = new Readiness({ ready: Promise.resolve(), watch, graceMs: 1000, proxy: { notReady: () => proxy } });
    await Promise.resolve();
    expect(r.notReady()).toBeNull();
    proxy = 'access proxy: no revocation update from the broker for 301 s';
    expect(r.notReady()).toBe(proxy);
    watch.disconnectedForMs = 301_000;
    expect(r.notReady()).toBe(`broker watch disconnected for 301 s; ${proxy}`);
    proxy = null;
    watch.disconnectedForMs = 0;
    expect(r.notReady()).toBeNull();
  });

  it('reports controllers that failed to start', async () => {
    const ready = Promise.reject(new Error('boom'));
    const r = new Readiness({ ready, watch: { disconnectedForMs: 0 }, graceMs: 1000 });
    await ready.catch(() => undefined);
    expect(r.notReady()).toBe('controllers failed to start');
  });
});
