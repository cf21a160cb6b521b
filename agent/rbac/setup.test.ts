import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RbacClusterBaseline, RbacStatusReport } from '../../broker/api/rbac.ts';
import { WatchDispatcher } from '../broker-client/watch-dispatcher.ts';
import { FakeKube } from '../../test/support/fake-kube.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { InformerRegistry, ROLES, type KubeObject } from '../kube/index.ts';
import { setupRbacController, type RbacController } from './setup.ts';

const log = pino({ level: 'silent' });
const V = 'rbac.authorization.k8s.io/v1';
const role = (name: string) => ({
  hash: `h-${name}`,
  object: { apiVersion: V, kind: 'Role' as const, metadata: { name, namespace: 'app' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
});
const settle = () => new Promise((r) => setImmediate(r));

class FakeBroker {
  baseline: RbacClusterBaseline = { revision: 1, targeted: true, entries: [role('a')] };
  fetches = 0;
  reports: RbacStatusReport[] = [];
  failNextReports = 0;
  async rbacBaseline(): Promise<RbacClusterBaseline> {
    this.fetches++;
    return this.baseline;
  }
  async putRbacStatus(r: RbacStatusReport): Promise<void> {
    if (this.failNextReports > 0) {
      this.failNextReports--;
      throw new Error('broker down');
    }
    this.reports.push(r);
  }
}

describe('setupRbacController', () => {
  let rbac: RbacController | undefined;
  afterEach(async () => {
    await rbac?.stop();
  });

  async function start() {
    const kube = new FakeKube();
    const timers = new FakeTimers();
    const registry = new InformerRegistry({ listWatch: kube.listWatch, logger: log, timers });
    const stream = new WatchDispatcher();
    const broker = new FakeBroker();
    rbac = setupRbacController({ api: kube, informers: registry, broker, signals: stream, logger: log, clock: timers, timers, reportDebounceMs: 100 });
    registry.start();
    await rbac.start();
    await rbac.controller.idle();
    return { kube, timers, stream, broker, rbac };
  }
  const names = (kube: FakeKube) => kube.objects(ROLES, 'app').map((r) => r.metadata?.name);

  it('applies at start and reports once per burst, after the debounce', async () => {
    const { kube, timers, broker } = await start();
    expect(names(kube)).toEqual(['a']);
    expect(broker.reports).toHaveLength(0);
    timers.advance(100);
    await settle();
    expect(broker.reports).toHaveLength(1);
    expect(broker.reports[0]).toMatchObject({ appliedRevision: 1, applied: [{ kind: 'Role', name: 'a', hash: 'h-a' }] });
  });

  it('refetches on an rbac watch event and on a relist', async () => {
    const { kube, stream, broker, rbac: c } = await start();
    broker.baseline = { revision: 2, targeted: true, entries: [role('a'), role('b')] };
    stream.apply({ type: 'rbac', revision: 10, rbacRevision: 2 });
    await settle();
    await c.controller.idle();
    expect(names(kube)).toEqual(['a', 'b']);
    broker.baseline = { revision: 3, targeted: true, entries: [role('b')] };
    stream.replace({ revision: 11, services: [], exports: [], clusters: [], advertisements: [] });
    await settle();
    await c.controller.idle();
    expect(names(kube)).toEqual(['b']);
    expect(broker.fetches).toBe(3);
  });

  it('corrects an out-of-band edit from the informer event alone', async () => {
    const { kube, rbac: c } = await start();
    const live = kube.objects(ROLES, 'app')[0]!;
    kube.put(ROLES, { ...live, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } as KubeObject);
    await settle();
    await c.controller.idle();
    expect((kube.objects(ROLES, 'app')[0] as { rules: unknown }).rules).toEqual(role('a').object.rules);
    expect(c.state.driftCount).toBe(1);
  });

  it('retries a failed report with backoff', async () => {
    const { timers, broker } = await start();
    broker.failNextReports = 1;
    timers.advance(100);
    await settle();
    expect(broker.reports).toHaveLength(0);
    expect(timers.pendingDelays().some((ms) => ms >= 400 && ms <= 500)).toBe(true);
    timers.advance(500);
    await settle();
    expect(broker.reports).toHaveLength(1);
  });
});
