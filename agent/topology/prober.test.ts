import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { ProbeTarget } from './probe-client.ts';
import { Prober } from './prober.ts';

function setup(o: { failureThreshold?: number; metrics?: AgentMetrics } = {}) {
  const timers = new FakeTimers(0);
  const outcomes = new Map<string, { ms: number } | 'fail' | 'hang'>();
  const probe = (t: ProbeTarget, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    const o = outcomes.get(t.cluster) ?? { ms: 1 };
    if (o === 'fail') return reject(new Error('refused'));
    if (o === 'hang') return signal.addEventListener('abort', () => reject(signal.reason as Error));
    timers.setTimeout(resolve, o.ms);
  });
  const prober = new Prober({
    probe, timers, now: () => timers.now().getTime(), logger: pino({ level: 'silent' }),
    intervalMs: 1000, timeoutMs: 500, failureThreshold: o.failureThreshold ?? 2, ewmaAlpha: 0.5, metrics: o.metrics,
  });
  const changes: string[] = [];
  prober.onChange((c) => changes.push(c));
  /** One probe round, with time moved past every simulated RTT. */
  const round = async () => {
    const r = prober.probeAll();
    // Millisecond steps, letting each resolved probe finish before time moves on.
    for (let t = 0; t < 100; t++) {
      timers.advance(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await r;
  };
  return { prober, timers, outcomes, changes, round };
}

describe('Prober', () => {
  it('smooths RTTs and reports the latency row of clusters that are up', async () => {
    const { prober, outcomes, round } = setup();
    prober.setTargets([{ cluster: 'b', url: 'https://b' }, { cluster: 'a', url: 'https://a' }]);
    expect(prober.state('a')).toBe('unknown');
    outcomes.set('a', { ms: 10 });
    outcomes.set('b', { ms: 4 });
    await round();
    outcomes.set('a', { ms: 20 });
    await round();
    expect(prober.state('a')).toBe('up');
    expect(prober.latencyMs('a')).toBe(15);
    expect(prober.latencies()).toEqual({ a: 15, b: 4 });
  });

  it('turns a cluster down after the failure threshold, forgets its RTT, and up on the first success', async () => {
    const { prober, outcomes, changes, round } = setup();
    prober.setTargets([{ cluster: 'a', url: 'https://a' }]);
    await round();
    outcomes.set('a', 'fail');
    await round();
    expect(prober.state('a')).toBe('up');
    await round();
    expect(prober.state('a')).toBe('down');
    expect(prober.latencyMs('a')).toBeUndefined();
    expect(prober.latencies()).toEqual({});
    outcomes.set('a', { ms: 3 });
    await round();
    expect(prober.state('a')).toBe('up');
    expect(prober.latencyMs('a')).toBe(3);
    expect(changes.filter((c) => c === 'a').length).toBeGreaterThanOrEqual(3);
  });

  it('counts a probe that outlives the timeout as a failure', async () => {
    const { prober, outcomes, timers } = setup({ failureThreshold: 1 });
    prober.setTargets([{ cluster: 'a', url: 'https://a' }]);
    outcomes.set('a', 'hang');
    const round = prober.probeAll();
    timers.advance(500);
    await round;
    expect(prober.state('a')).toBe('down');
  });

  it('probes on every interval once started, and stops', async () => {
    const { prober, timers, outcomes } = setup({ failureThreshold: 1 });
    prober.setTargets([{ cluster: 'a', url: 'https://a' }]);
    prober.start();
    timers.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(prober.state('a')).toBe('up');
    outcomes.set('a', 'fail');
    timers.advance(999);
    await new Promise((r) => setImmediate(r));
    expect(prober.state('a')).toBe('down');
    prober.stop();
    outcomes.set('a', { ms: 1 });
    timers.advance(5000);
    await new Promise((r) => setImmediate(r));
    expect(prober.state('a')).toBe('down');
  });

  it('starts a cluster afresh when its URL changes, and drops removed ones', async () => {
    const { prober, round } = setup();
    prober.setTargets([{ cluster: 'a', url: 'https://a' }]);
    await round();
    prober.setTargets([{ cluster: 'a', url: 'https://a2' }]);
    expect(prober.state('a')).toBe('unknown');
    prober.setTargets([]);
    expect(prober.latencies()).toEqual({});
  });

  it('shows each peer\'s smoothed RTT and health, and drops a peer that is no longer a target', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const { prober, outcomes, round } = setup({ metrics });
    const series = async () => ({
      rtt: Object.fromEntries((await metrics.probeRtt.get()).values.map((v) => [v.labels.peer, v.value])),
      up: Object.fromEntries((await metrics.peerHealthy.get()).values.map((v) => [v.labels.peer, v.value])),
    });
    prober.setTargets([{ cluster: 'a', url: 'https://a' }, { cluster: 'b', url: 'https://b' }]);
    outcomes.set('a', { ms: 10 });
    outcomes.set('b', 'fail');
    await round();
    await round();
    expect(await series()).toEqual({ rtt: { a: 0.01 }, up: { a: 1, b: 0 } });
    prober.setTargets([{ cluster: 'b', url: 'https://b' }]);
    expect(await series()).toEqual({ rtt: {}, up: { b: 0 } });
  });
});
