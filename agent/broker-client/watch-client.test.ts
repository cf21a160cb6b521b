import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { CatalogSnapshot, WatchEvent } from '../../broker/api/catalog.ts';
import { AgentError } from '../errors.ts';
import { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { Timers } from '../timing/clock.ts';
import { WatchClient, type CatalogSink, type CatalogTransport } from './watch-client.ts';

class FakeTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(h: unknown): void { this.pending.delete(h as number); }
  /** Runs the pending timer with the given delay (or the only/first one). */
  fire(ms?: number): number {
    const entry = [...this.pending].find(([, t]) => ms === undefined || t.ms === ms);
    if (!entry) throw new Error(`no pending timer${ms === undefined ? '' : ` of ${ms} ms`}: ${[...this.pending.values()].map((t) => t.ms).join(',')}`);
    this.pending.delete(entry[0]);
    entry[1].fn();
    return entry[1].ms;
  }
  delays(): number[] { return [...this.pending.values()].map((t) => t.ms); }
}

class FakeStream {
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #end: 'ended' | Error | undefined;
  push(...events: object[]): void { this.#lines.push(...events.map((e) => JSON.stringify(e))); this.#wake?.(); }
  pushRaw(line: string): void { this.#lines.push(line); this.#wake?.(); }
  end(): void { this.#end = 'ended'; this.#wake?.(); }
  fail(err: Error): void { this.#end = err; this.#wake?.(); }
  async *iterate(signal: AbortSignal): AsyncGenerator<string> {
    const onAbort = () => this.#wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const line = this.#lines.shift();
        if (line !== undefined) { yield line; continue; }
        if (this.#end === 'ended') return;
        if (this.#end) throw this.#end;
        await new Promise<void>((r) => { this.#wake = r; });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

class FakeTransport implements CatalogTransport {
  readonly calls: string[] = [];
  readonly snapshots: (CatalogSnapshot | Error)[] = [];
  readonly streams: (FakeStream | Error)[] = [];
  closed = false;
  async snapshot(): Promise<CatalogSnapshot> {
    this.calls.push('snapshot');
    const next = this.snapshots.shift();
    if (!next) throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'broker down');
    if (next instanceof Error) throw next;
    return next;
  }
  watch(since: number, signal: AbortSignal): AsyncIterable<string> {
    this.calls.push(`watch ${since}`);
    const next = this.streams.shift();
    if (!next) throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'broker down');
    if (next instanceof Error) throw next;
    return next.iterate(signal);
  }
  async close(): Promise<void> { this.closed = true; }
}

class RecordingSink implements CatalogSink {
  readonly seen: string[] = [];
  replace(s: CatalogSnapshot): void { this.seen.push(`replace ${s.revision}`); }
  apply(e: WatchEvent): void { this.seen.push(`${e.type} ${e.revision}`); }
}

const snap = (revision: number): CatalogSnapshot => ({ revision, services: [], exports: [], clusters: [] });
const clusterEvent = (revision: number, available = true): WatchEvent => ({ type: 'cluster', revision, state: { cluster: 'east', available, leaseRenewedAt: null } });

function setup(o: { bookmarkTimeoutMs?: number } = {}) {
  const transport = new FakeTransport();
  const sink = new RecordingSink();
  const timers = new FakeTimers();
  const client = new WatchClient({
    sink, transport, timers, logger: pino({ level: 'silent' }), random: () => 0.5,
    backoffInitialMs: 100, backoffMaxMs: 1000, bookmarkTimeoutMs: o.bookmarkTimeoutMs ?? 5000,
  });
  return { transport, sink, timers, client };
}

describe('WatchClient', () => {
  it('applies the snapshot, then streams events from its revision; bookmarks only move the revision', async () => {
    const { transport, sink, client } = setup();
    transport.snapshots.push(snap(7));
    const stream = new FakeStream();
    transport.streams.push(stream);
    client.start();
    stream.push(clusterEvent(8), { type: 'bookmark', revision: 9 });
    await vi.waitFor(() => expect(client.revision).toBe(9));
    expect(transport.calls).toEqual(['snapshot', 'watch 7']);
    expect(sink.seen).toEqual(['replace 7', 'cluster 8']);
    await client.stop();
    expect(transport.closed).toBe(true);
    expect(client.state).toBe('stopped');
  });

  it('tells the sink each bookmark (the stream is at the broker\'s head: the proxy\'s revocations are current)', async () => {
    const transport = new FakeTransport();
    const current: number[] = [];
    transport.snapshots.push(snap(7));
    const stream = new FakeStream();
    transport.streams.push(stream);
    const withCurrent = new WatchClient({
      sink: { replace: () => undefined, apply: () => undefined, current: (r) => current.push(r) }, transport, timers: new FakeTimers(),
      logger: pino({ level: 'silent' }), random: () => 0.5, backoffInitialMs: 100, backoffMaxMs: 1000, bookmarkTimeoutMs: 5000,
    });
    withCurrent.start();
    stream.push(clusterEvent(8), { type: 'bookmark', revision: 9 }, { type: 'bookmark', revision: 9 });
    await vi.waitFor(() => expect(current).toEqual([9, 9]));
    await withCurrent.stop();
  });

  it('resumes from the last applied revision after a disconnect, without a new snapshot', async () => {
    const { transport, sink, client } = setup();
    transport.snapshots.push(snap(1));
    const first = new FakeStream();
    const second = new FakeStream();
    transport.streams.push(first, second);
    client.start();
    first.push(clusterEvent(2), clusterEvent(3, false));
    await vi.waitFor(() => expect(client.revision).toBe(3));
    first.fail(new Error('socket hang up'));
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'watch 1', 'watch 3']));
    second.push(clusterEvent(2), clusterEvent(4));
    await vi.waitFor(() => expect(client.revision).toBe(4));
    expect(sink.seen).toEqual(['replace 1', 'cluster 2', 'cluster 3', 'cluster 4']);
    await client.stop();
  });

  it('backs off with capped exponential full jitter while the broker is down, and keeps the sink untouched', async () => {
    const { transport, sink, timers, client } = setup();
    transport.snapshots.push(snap(1));
    transport.streams.push(new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'down'));
    client.start();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await vi.waitFor(() => expect(client.state).toBe('backoff'));
      await vi.waitFor(() => expect(timers.delays()).toHaveLength(1));
      delays.push(timers.fire());
    }
    // random() = 0.5 → half of 100, 200, 400, 800, then the 1000 cap.
    expect(delays).toEqual([50, 100, 200, 400, 500, 500]);
    await vi.waitFor(() => expect(transport.calls.filter((c) => c === 'watch 1')).toHaveLength(7));
    expect(sink.seen).toEqual(['replace 1']);
    await client.stop();
  });

  it('retryNow() ends a backoff at once and resumes from its revision; otherwise it does nothing', async () => {
    const { transport, sink, timers, client } = setup();
    transport.snapshots.push(snap(5));
    const stream = new FakeStream();
    transport.streams.push(stream);
    client.start();
    await vi.waitFor(() => expect(client.state).toBe('watching'));
    client.retryNow();
    expect(client.state).toBe('watching');
    stream.fail(new Error('socket hang up'));
    await vi.waitFor(() => expect(client.state).toBe('backoff'));
    const resumed = new FakeStream();
    transport.streams.push(resumed);
    client.retryNow();
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'watch 5', 'watch 5']));
    // Only the new stream's silence watchdog is pending: the backoff timer is gone.
    await vi.waitFor(() => expect(timers.delays()).toEqual([5000]));
    resumed.push(clusterEvent(6));
    await vi.waitFor(() => expect(sink.seen).toEqual(['replace 5', 'cluster 6']));
    await client.stop();
  });

  it('retries the first snapshot until the broker answers', async () => {
    const { transport, sink, timers, client } = setup();
    const stream = new FakeStream();
    transport.streams.push(stream);
    client.start();
    await vi.waitFor(() => expect(timers.delays()).toHaveLength(1));
    transport.snapshots.push(snap(4));
    timers.fire();
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'snapshot', 'watch 4']));
    expect(sink.seen).toEqual(['replace 4']);
    await client.stop();
  });

  it('on relist fetches the snapshot again and continues from its revision', async () => {
    const { transport, sink, client } = setup();
    transport.snapshots.push(snap(1), snap(50));
    const first = new FakeStream();
    const second = new FakeStream();
    transport.streams.push(first, second);
    client.start();
    first.push(clusterEvent(2), { type: 'relist', revision: 40 });
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'watch 1', 'snapshot', 'watch 50']));
    second.push(clusterEvent(51));
    await vi.waitFor(() => expect(client.revision).toBe(51));
    expect(sink.seen).toEqual(['replace 1', 'cluster 2', 'replace 50', 'cluster 51']);
    await client.stop();
  });

  it('relists at once when a resumed stream starts with relist, but backs off when a fresh snapshot is relisted', async () => {
    const { transport, sink, timers, client } = setup();
    transport.snapshots.push(snap(1), snap(30), snap(31));
    const first = new FakeStream();
    const resumed = new FakeStream();
    const afterFresh = new FakeStream();
    const last = new FakeStream();
    transport.streams.push(first, resumed, afterFresh, last);
    client.start();
    first.push(clusterEvent(2));
    await vi.waitFor(() => expect(client.revision).toBe(2));
    first.end();
    resumed.push({ type: 'relist', revision: 29 });
    afterFresh.push({ type: 'relist', revision: 30 });
    // resumed → relist → snapshot 30 at once → relist again → back off before snapshot 31.
    await vi.waitFor(() => expect(timers.delays()).toEqual([50]));
    expect(transport.calls).toEqual(['snapshot', 'watch 1', 'watch 2', 'snapshot', 'watch 30']);
    timers.fire();
    await vi.waitFor(() => expect(transport.calls.slice(5)).toEqual(['snapshot', 'watch 31']));
    expect(sink.seen).toEqual(['replace 1', 'cluster 2', 'replace 30', 'replace 31']);
    await client.stop();
  });

  it('treats a stream silent past the bookmark timeout as dead and reconnects from the last revision', async () => {
    const { transport, timers, client } = setup({ bookmarkTimeoutMs: 5000 });
    transport.snapshots.push(snap(1));
    const first = new FakeStream();
    const second = new FakeStream();
    transport.streams.push(first, second);
    client.start();
    first.push({ type: 'bookmark', revision: 6 });
    await vi.waitFor(() => expect(client.revision).toBe(6));
    timers.fire(5000);
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'watch 1', 'watch 6']));
    await client.stop();
  });

  it('reconnects after a line that is not a valid event, without applying it', async () => {
    const { transport, sink, timers, client } = setup();
    transport.snapshots.push(snap(1));
    const first = new FakeStream();
    const second = new FakeStream();
    transport.streams.push(first, second);
    client.start();
    first.pushRaw('{"type":"bogus","revision":2}');
    await vi.waitFor(() => expect(timers.delays()).toEqual([50]));
    timers.fire();
    await vi.waitFor(() => expect(transport.calls).toEqual(['snapshot', 'watch 1', 'watch 1']));
    expect(sink.seen).toEqual(['replace 1']);
    await client.stop();
  });

  it('stop() ends a pending backoff and an open stream', async () => {
    const { transport, client } = setup();
    transport.snapshots.push(snap(1));
    transport.streams.push(new FakeStream());
    client.start();
    await vi.waitFor(() => expect(client.state).toBe('watching'));
    await client.stop();
    expect(transport.calls).toEqual(['snapshot', 'watch 1']);
  });

  it('validates its options at construction', () => {
    const sink = new RecordingSink();
    const logger = pino({ level: 'silent' });
    expect(() => new WatchClient({ sink, logger, transport: new FakeTransport(), backoffInitialMs: 0 })).toThrow(expect.objectContaining({ code: 'PLX_AGENT_BAD_ARGUMENT' }));
    expect(() => new WatchClient({ sink, logger, baseUrl: 'http://broker:1' , trustBundle: 'x', clientCert: { certPem: 'x', keyPem: 'y' } })).toThrow(expect.objectContaining({ code: 'PLX_AGENT_BAD_ARGUMENT' }));
    expect(() => new WatchClient({ sink, logger })).toThrow(expect.objectContaining({ code: 'PLX_AGENT_BAD_ARGUMENT' }));
  });

  it('records the open stream and, for events stamped with the commit time, now minus committedAt', async () => {
    const transport = new FakeTransport();
    const metrics = new AgentMetrics({ defaultMetrics: false });
    let now = 10_000;
    const client = new WatchClient({
      sink: new RecordingSink(), transport, timers: new FakeTimers(), logger: pino({ level: 'silent' }), random: () => 0.5,
      backoffInitialMs: 100, backoffMaxMs: 1000, bookmarkTimeoutMs: 5000, metrics, now: () => now,
    });
    const value = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values;
    expect(client.connected).toBe(false);
    transport.snapshots.push(snap(1));
    const stream = new FakeStream();
    transport.streams.push(stream);
    client.start();
    stream.push({ type: 'bookmark', revision: 1 });
    await vi.waitFor(() => expect(client.connected).toBe(true));
    expect((await value('plexus_agent_broker_connected'))[0]?.value).toBe(1);
    stream.push({ ...clusterEvent(2), committedAt: 9_750 }, { ...clusterEvent(3), committedAt: 10_500 }, clusterEvent(4));
    await vi.waitFor(() => expect(client.revision).toBe(4));
    const delay = await value('plexus_agent_propagation_delay_seconds');
    expect(delay.find((v) => (v as { metricName?: string }).metricName === 'plexus_agent_propagation_delay_seconds_count')?.value).toBe(2);
    // 0.25 s, and a broker clock ahead of ours counts as 0.
    expect(delay.find((v) => (v as { metricName?: string }).metricName === 'plexus_agent_propagation_delay_seconds_sum')?.value).toBe(0.25);
    stream.fail(new Error('socket hang up'));
    await vi.waitFor(() => expect(client.connected).toBe(false));
    expect((await value('plexus_agent_broker_connected'))[0]?.value).toBe(0);
    now += 3000;
    expect(client.disconnectedForMs).toBe(3000);
    await client.stop();
  });
});
