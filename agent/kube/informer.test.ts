import { ListWatch, type V1EndpointSlice } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../errors.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { InformerRegistry } from './informer-registry.ts';
import { FakeListWatch } from '../../test/support/fake-list-watch.ts';
import { Informer } from './informer.ts';
import { ENDPOINT_SLICES, INDEX_SERVICE_NAME, SERVICES, SERVICE_EXPORTS, type KubeObject, type ResourceType } from './resources.ts';

const logger = pino({ level: 'silent' });

const slice = (name: string, svc: string): V1EndpointSlice => ({
  metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': svc } }, addressType: 'IPv4', endpoints: [],
});

const flush = () => new Promise((r) => setImmediate(r));

describe('Informer', () => {
  it('restarts with backoff after errors and reports synced only after a clean start', async () => {
    const timers = new FakeTimers();
    const lw = new FakeListWatch<V1EndpointSlice>();
    lw.startOutcomes = ['error', 'error', 'ok'];
    const inf = new Informer(ENDPOINT_SLICES, lw, { logger, timers, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
    inf.start();
    await flush();
    expect(inf.hasSynced()).toBe(false);
    expect(timers.pendingDelays()).toEqual([100]);
    timers.fireNext();
    await flush();
    expect(timers.pendingDelays()).toEqual([200]);
    timers.fireNext();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(lw.starts).toBe(3);
    // A later watch failure restarts from the first backoff step again.
    lw.emit('error', new Error('stream reset'));
    expect(timers.pendingDelays()).toEqual([100]);
    await inf.stop();
    expect(timers.pendingCount).toBe(0);
  });

  it('keeps the label index in step with adds, label changes and deletes', () => {
    const lw = new FakeListWatch<V1EndpointSlice>();
    const inf = new Informer(ENDPOINT_SLICES, lw, { logger, timers: new FakeTimers() });
    lw.put(slice('a-1', 'a'));
    lw.put(slice('a-2', 'a'));
    lw.put(slice('b-1', 'b'));
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/a').map((s) => s.metadata?.name).sort()).toEqual(['a-1', 'a-2']);
    lw.put(slice('a-2', 'b'), 'update');
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/a').map((s) => s.metadata?.name)).toEqual(['a-1']);
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/b')).toHaveLength(2);
    lw.remove(slice('a-1', 'a'));
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/a')).toEqual([]);
    expect(() => inf.byIndex('nope', 'x')).toThrow(RangeError);
  });

  it('a throwing handler neither breaks the cache nor the other handlers', () => {
    const lw = new FakeListWatch<V1EndpointSlice>();
    const inf = new Informer(ENDPOINT_SLICES, lw, { logger, timers: new FakeTimers() });
    const seen: string[] = [];
    inf.on('add', () => { throw new Error('bug'); });
    inf.onChange((s) => seen.push(s.metadata!.name!));
    lw.put(slice('a-1', 'a'));
    expect(seen).toEqual(['a-1']);
    expect(inf.get('ns', 'a-1')).toBeDefined();
  });
});

describe('InformerRegistry', () => {
  function registry() {
    const made: string[] = [];
    const reg = new InformerRegistry({
      logger, timers: new FakeTimers(),
      listWatch: <T extends KubeObject>(r: ResourceType<T>) => {
        made.push(r.plural);
        return new FakeListWatch<T>();
      },
    });
    return { reg, made };
  }

  it('throws at wiring time for an informer the component did not declare', () => {
    const { reg } = registry();
    const mine = reg.declare('service-export', [SERVICE_EXPORTS, SERVICES]);
    expect(mine.get(SERVICES)).toBeInstanceOf(Informer);
    try {
      mine.get(ENDPOINT_SLICES);
      expect.fail('expected a throw');
    } catch (err) {
      expect((err as AgentError).code).toBe('PLX_AGENT_INFORMER_UNDECLARED');
    }
  });

  it('shares one informer per resource between components and syncs them all', async () => {
    const { reg, made } = registry();
    const a = reg.declare('a', [SERVICES, ENDPOINT_SLICES]);
    const b = reg.declare('b', [SERVICES]);
    expect(a.get(SERVICES)).toBe(b.get(SERVICES));
    expect(made).toEqual(['services', 'endpointslices']);
    reg.start();
    await reg.waitForSync();
    expect(a.hasSynced() && b.hasSynced() && reg.hasSynced()).toBe(true);
    await reg.stop();
  });

  it('refuses a second, different descriptor for the same resource', () => {
    const { reg } = registry();
    reg.declare('a', [SERVICES]);
    expect(() => reg.declare('b', [{ ...SERVICES }])).toThrow(AgentError);
  });
});

describe('Informer on client-node ListWatch', () => {
  it('relists after 410 Gone, delivering deletions that happened in between, without an error restart', async () => {
    type Done = (err: unknown) => void;
    const dones: Done[] = [];
    const watch = {
      watch: async (_path: string, _q: unknown, _cb: unknown, done: Done) => {
        dones.push(done);
        return new AbortController();
      },
    };
    const lists = [
      [slice('a-1', 'a'), slice('a-2', 'a')],
      [slice('a-2', 'a')],
    ];
    let listed = 0;
    const listFn = async () => ({ metadata: { resourceVersion: String(++listed) }, items: lists[Math.min(listed - 1, 1)]! });
    const lw = new ListWatch('/apis/discovery.k8s.io/v1/endpointslices', watch as never, listFn, false);
    const timers = new FakeTimers();
    const inf = new Informer(ENDPOINT_SLICES, lw, { logger, timers });
    const deleted: string[] = [];
    inf.on('delete', (s) => deleted.push(s.metadata!.name!));
    inf.start();
    await inf.waitForSync();
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/a')).toHaveLength(2);
    dones[0]!({ statusCode: 410 });
    await new Promise((r) => setImmediate(r));
    expect(listed).toBe(2);
    expect(deleted).toEqual(['a-1']);
    expect(inf.byIndex(INDEX_SERVICE_NAME, 'ns/a').map((s) => s.metadata?.name)).toEqual(['a-2']);
    expect(timers.pendingCount).toBe(0);
    await inf.stop();
  });
});

describe('InformerRegistry readiness probe', () => {
  it('restarts every failing informer at once when /readyz answers again after an outage, and leaves the backoff alone when the server never went away', async () => {
    const timers = new FakeTimers();
    const lws = new Map<string, FakeListWatch<KubeObject>>();
    let ready = false;
    let probes = 0;
    const reg = new InformerRegistry({
      logger, timers, backoff: { baseMs: 100, maxMs: 30_000, jitter: 0 },
      recovery: { intervalMs: 1000, probe: async () => { probes++; return ready; } },
      listWatch: <T extends KubeObject>(r: ResourceType<T>) => {
        const lw = new FakeListWatch<T>();
        lw.startOutcomes = Array.from({ length: 9 }, () => 'error' as const);
        lws.set(r.plural, lw as unknown as FakeListWatch<KubeObject>);
        return lw;
      },
    });
    const mine = reg.declare('c', [SERVICES, ENDPOINT_SLICES]);
    reg.start();
    await flush();
    // Both failing: the restart delay grows (100, 200, …) and the probe runs every second.
    for (let i = 0; i < 8; i++) {
      timers.advance(1000);
      await flush();
    }
    expect(probes).toBeGreaterThan(3);
    expect(Math.max(...timers.pendingDelays())).toBeGreaterThanOrEqual(6400);
    for (const lw of lws.values()) lw.startOutcomes = [];
    const startsBefore = [...lws.values()].map((lw) => lw.starts);
    ready = true;
    timers.advance(1000);
    await flush();
    await flush();
    expect([...lws.values()].map((lw) => lw.starts)).toEqual(startsBefore.map((n) => n + 1));
    expect(mine.hasSynced()).toBe(true);
    expect(timers.pendingCount).toBe(0);

    // A failure while /readyz keeps answering is not an outage: the backoff alone paces the
    // restarts (at +100, +300, +700 and +1500 ms in two seconds), none is added by the probe.
    const services = lws.get('services')!;
    services.startOutcomes = Array.from({ length: 9 }, () => 'error' as const);
    const before = services.starts;
    services.emit('error', new Error('forbidden'));
    for (let i = 0; i < 2; i++) {
      timers.advance(1000);
      await flush();
    }
    expect(services.starts - before).toBe(4);
    await reg.stop();
    expect(timers.pendingCount).toBe(0);
  });
});

