import { describe, expect, it } from 'vitest';
import type { LeaseReport } from '../../../broker/api/fleet.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import type { InformerRegistry, KubeObject } from '../../kube/index.ts';
import { LeaseReporter, reportingLeaseClient } from './lease-report.ts';

const owned = { 'app.kubernetes.io/managed-by': 'plexus' };

/** An informer registry holding one ServiceImport cache. */
function registry(objects: KubeObject[], synced: boolean) {
  const declared: string[] = [];
  const informers = {
    declare: (component: string) => {
      declared.push(component);
      return { component, hasSynced: () => synced, waitForSync: async () => {}, get: () => ({ list: () => objects }) };
    },
  } as unknown as InformerRegistry;
  return { informers, declared };
}

/** A cache that syncs when the test says so and tells its change handlers about each change. */
function liveRegistry() {
  const objects: KubeObject[] = [];
  const handlers: (() => void)[] = [];
  let synced = false;
  let markSynced = () => {};
  const sync = new Promise<void>((r) => { markSynced = r; });
  const informers = {
    declare: (component: string) => ({
      component, hasSynced: () => synced, waitForSync: () => sync,
      get: () => ({ list: () => objects, onChange: (h: () => void) => void handlers.push(h) }),
    }),
  } as unknown as InformerRegistry;
  return {
    informers,
    sync: async () => { synced = true; markSynced(); await sync; },
    change: (o: KubeObject) => { objects.push(o); for (const h of handlers) h(); },
  };
}

describe('LeaseReporter', () => {
  it('reports the version and the Plexus-owned ServiceImports, sorted', () => {
    const { informers, declared } = registry([
      { metadata: { namespace: 'shop', name: 'web', labels: owned } },
      { metadata: { namespace: 'bank', name: 'ledger', labels: owned } },
      { metadata: { namespace: 'shop', name: 'cart', labels: owned } },
      { metadata: { namespace: 'shop', name: 'handmade' } },
    ], true);
    const r = new LeaseReporter({ informers, agentVersion: '1.2.3' });
    expect(declared).toEqual(['lease-report']);
    expect(r.report()).toEqual({
      agentVersion: '1.2.3',
      imports: [{ namespace: 'bank', name: 'ledger' }, { namespace: 'shop', name: 'cart' }, { namespace: 'shop', name: 'web' }],
    });
  });

  it('leaves imports out until the cache has synced, so the broker never sees a false zero', () => {
    const { informers } = registry([{ metadata: { namespace: 'shop', name: 'web', labels: owned } }], false);
    expect(new LeaseReporter({ informers, agentVersion: '1.2.3' }).report()).toEqual({ agentVersion: '1.2.3' });
  });

  it('sends the report with every renewal, and passes the heartbeat\'s signal on', async () => {
    const sent: (LeaseReport | undefined)[] = [];
    const signals: (AbortSignal | undefined)[] = [];
    const client = {
      renewLease: async (o: { report?: LeaseReport; signal?: AbortSignal }) => {
        sent.push(o.report);
        signals.push(o.signal);
        return { leaseDurationSeconds: 30, renewedAt: '2030-01-01T00:00:00Z' };
      },
    };
    let version = 'a';
    const lease = reportingLeaseClient(client, { report: () => ({ agentVersion: version }) });
    await lease.renewLease();
    version = 'b';
    const signal = new AbortController().signal;
    await lease.renewLease({ signal });
    expect(sent).toEqual([{ agentVersion: 'a' }, { agentVersion: 'b' }]);
    expect(signals).toEqual([undefined, signal]);
  });

  // Regression (issue 12, npm run demo "timed out … waiting for every active cluster
  // reported"): the first beat goes out before the informers synced, so it has no imports,
  // and the next came a third of the lease later; an agent stopped before then never told
  // the broker its imports.
  it('asks for a beat as soon as the cache syncs, not only on the heartbeat', async () => {
    const live = liveRegistry();
    const r = new LeaseReporter({ informers: live.informers, agentVersion: '1.2.3' });
    const timers = new FakeTimers();
    let beats = 0;
    r.watch(() => { beats++; }, { timers, debounceMs: 1000 });
    expect(r.report()).toEqual({ agentVersion: '1.2.3' }); // the first beat, before the sync
    await live.sync();
    expect(beats).toBe(1);
    expect(r.report()).toEqual({ agentVersion: '1.2.3', imports: [] });
    r.stop();
  });

  it('asks for one beat per burst of import changes, only when the report changed', async () => {
    const live = liveRegistry();
    const r = new LeaseReporter({ informers: live.informers, agentVersion: '1.2.3' });
    const timers = new FakeTimers();
    let beats = 0;
    r.watch(() => { beats++; }, { timers, debounceMs: 1000 });
    await live.sync();
    r.report();
    beats = 0;
    live.change({ metadata: { namespace: 'shop', name: 'cart', labels: owned } });
    live.change({ metadata: { namespace: 'shop', name: 'web', labels: owned } });
    expect(timers.pendingDelays()).toEqual([1000]);
    timers.fireNext();
    expect(beats).toBe(1);
    expect(r.report().imports).toHaveLength(2);
    live.change({ metadata: { namespace: 'shop', name: 'handmade' } }); // not Plexus-owned: same report
    timers.fireNext();
    expect(beats).toBe(1);
    live.change({ metadata: { namespace: 'shop', name: 'db', labels: owned } });
    r.stop();
    expect(timers.pendingCount).toBe(0);
    expect(beats).toBe(1);
  });
});
