import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../errors.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { AgentMetrics } from '../../metrics/agent-metrics.ts';
import { LeaseHeartbeat, type LeaseClient } from './lease-heartbeat.ts';

const logger = pino({ level: 'silent' });
const flush = () => new Promise((r) => setImmediate(r));

function setup(outcomes: ('ok' | 'down')[], metrics?: AgentMetrics) {
  const timers = new FakeTimers();
  let calls = 0;
  const client: LeaseClient = {
    async renewLease() {
      calls++;
      if ((outcomes.shift() ?? 'ok') === 'down') throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'connect ECONNREFUSED');
      return { leaseDurationSeconds: 30, renewedAt: timers.now().toISOString() };
    },
  };
  const hb = new LeaseHeartbeat({ client, logger, timers, clock: timers, leaseDurationMs: 60_000, backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0 }, metrics });
  return { hb, timers, calls: () => calls };
}

async function tick(timers: FakeTimers) {
  timers.fireNext();
  await flush();
}

describe('LeaseHeartbeat', () => {
  it('beats at once, then every third of the lease the broker states', async () => {
    const { hb, timers, calls } = setup([]);
    hb.start();
    expect(timers.pendingDelays()).toEqual([0]);
    await tick(timers);
    expect(calls()).toBe(1);
    expect(hb.lastRenewedAt).toEqual(timers.now());
    expect(timers.pendingDelays()).toEqual([10_000]); // 30 s lease from the broker, not the 60 s guess
    await tick(timers);
    expect(calls()).toBe(2);
    await hb.stop();
    expect(timers.pendingCount).toBe(0);
  });

  it('survives a broker outage: backs off, never slower than the beat, and recovers', async () => {
    const { hb, timers, calls } = setup(['ok', 'down', 'down', 'down', 'down', 'down', 'ok']);
    hb.start();
    await tick(timers);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await tick(timers);
      delays.push(timers.pendingDelays()[0]!);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect(hb.consecutiveFailures).toBe(5);
    await tick(timers);
    expect(hb.consecutiveFailures).toBe(0);
    expect(timers.pendingDelays()).toEqual([10_000]);
    expect(calls()).toBe(7);
    await hb.stop();
  });

  // Regression (e2e broker-outage): an agent started while the broker was down retried every
  // 10 s (a third of its 30 s guess); the returning broker's 3 s lease ran out first.
  it('before its first renewal retries at least every second, whatever lease it guessed', async () => {
    const { hb, timers, calls } = setup(['down', 'down', 'down', 'down', 'ok', 'down', 'down', 'down', 'down', 'down']);
    hb.start();
    await tick(timers);
    const before: number[] = [];
    for (let i = 0; i < 4; i++) {
      before.push(timers.pendingDelays()[0]!);
      await tick(timers);
    }
    expect(before).toEqual([1000, 1000, 1000, 1000]);
    expect(calls()).toBe(5);
    // Renewed: the broker's 30 s lease is known, and failures back off up to its beat again.
    const after: number[] = [];
    for (let i = 0; i < 5; i++) {
      await tick(timers);
      after.push(timers.pendingDelays()[0]!);
    }
    expect(after).toEqual([1000, 2000, 4000, 8000, 10_000]);
    await hb.stop();
  });

  it('rejects a non-positive lease duration at construction', () => {
    expect(() => new LeaseHeartbeat({ client: { renewLease: async () => { throw new Error('x'); } }, logger, timers: new FakeTimers(), clock: new FakeTimers(), leaseDurationMs: 0 })).toThrow(RangeError);
  });

  // Regression (CI, mcs-faults under load): #beat awaited renewLease() and scheduled the next
  // beat only once it settled, so one call that never settled ended the heartbeat without a
  // word, and the broker withdrew the cluster when its lease ran out.
  it('abandons a renewal that never settles after half the lease, logs PLX_AGENT_LEASE_TIMEOUT and keeps beating', async () => {
    const timers = new FakeTimers();
    const lines: { code?: string; msg?: string }[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const signals: (AbortSignal | undefined)[] = [];
    let calls = 0;
    const client: LeaseClient = {
      renewLease(o) {
        calls++;
        signals.push(o?.signal);
        // The first renewal succeeds (the broker states a 3 s lease); every later one hangs for good.
        if (calls === 1) return Promise.resolve({ leaseDurationSeconds: 3, renewedAt: timers.now().toISOString() });
        return new Promise(() => undefined);
      },
    };
    const hb = new LeaseHeartbeat({ client, logger: log, timers, clock: timers, leaseDurationMs: 3000, backoff: { baseMs: 500, maxMs: 1000, jitter: 0 } });
    hb.start();
    await tick(timers);
    expect(timers.pendingDelays()).toEqual([1000]);
    await tick(timers); // beat 2 starts and hangs: only its deadline (half the 3 s lease) is pending
    expect(calls).toBe(2);
    expect(timers.pendingDelays()).toEqual([1500]);
    for (let i = 0; i < 6; i++) await tick(timers); // deadline, retry, deadline, retry, ...
    expect(calls).toBe(5);
    expect(hb.consecutiveFailures).toBe(3);
    expect(signals.slice(1, 4).every((s) => s?.aborted)).toBe(true);
    expect((signals[1]?.reason as AgentError).code).toBe('PLX_AGENT_LEASE_TIMEOUT');
    const warned = lines.filter((l) => l.msg === 'lease renewal failed');
    expect(warned.map((l) => l.code)).toEqual(['PLX_AGENT_LEASE_TIMEOUT', 'PLX_AGENT_LEASE_TIMEOUT', 'PLX_AGENT_LEASE_TIMEOUT']);
    // stop() does not wait on the hung call beyond its deadline either.
    const stopped = hb.stop();
    await tick(timers);
    await stopped;
    expect(timers.pendingCount).toBe(0);
  });

  // Regression (issue 12, npm run demo): a report that changed waited for the next beat, a
  // third of the lease away; beatNow() brings it forward.
  it('beats at once on beatNow, and once more right after a beat that was in flight', async () => {
    const { hb, timers, calls } = setup([]);
    hb.start();
    await tick(timers);
    expect(timers.pendingDelays()).toEqual([10_000]);
    hb.beatNow();
    expect(timers.pendingDelays()).toEqual([0]);
    timers.fireNext(); // beat 2 in flight
    hb.beatNow();
    hb.beatNow();
    await flush();
    expect(calls()).toBe(2);
    expect(timers.pendingDelays()).toEqual([0]); // one more, not two
    await tick(timers);
    expect(calls()).toBe(3);
    expect(timers.pendingDelays()).toEqual([10_000]);
    await hb.stop();
  });

  it('keeps its backoff on beatNow while renewals fail', async () => {
    const { hb, timers } = setup(['ok', 'down']);
    hb.start();
    await tick(timers);
    await tick(timers);
    expect(timers.pendingDelays()).toEqual([1000]);
    hb.beatNow();
    expect(timers.pendingDelays()).toEqual([1000]);
    await hb.stop();
  });

  it('counts beats by outcome', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const { hb, timers } = setup(['ok', 'down', 'ok'], metrics);
    hb.start();
    for (let i = 0; i < 3; i++) await tick(timers);
    const counts = Object.fromEntries((await metrics.leaseRenewals.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(counts).toEqual({ ok: 2, error: 1 });
    await hb.stop();
  });
});
