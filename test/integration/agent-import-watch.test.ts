// The catalog watch client against the real broker over mTLS: snapshot then stream, a
// broker outage that leaves the view untouched and resumes from the last revision, and a
// relist after the broker compacted the client's revision away (vanished keys reported).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { catalogPaths, type ExportSpecInput } from '../../broker/api/catalog.ts';
import { WatchClient } from '../../agent/broker-client/watch-client.ts';
import { WatchDispatcher } from '../../agent/broker-client/watch-dispatcher.ts';
import { CatalogView } from '../../agent/catalog/catalog-view.ts';
import { FakeTimers } from '../support/fake-timers.ts';
import type { Timers } from '../../agent/timing/clock.ts';
import { waitFor } from '../harness/wait-for.ts';
import { joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec, restartTestBroker } from './support/catalog-fixture.ts';

const logger = pino({ level: process.env.PLX_TEST_LOG ?? 'silent' });

describe('catalog WatchClient against the real broker', () => {
  let broker: TestBroker | undefined;
  let client: WatchClient | undefined;

  afterEach(async () => {
    await client?.stop();
    await broker?.stop();
    client = undefined;
    broker = undefined;
  });

  async function setUp(config: { eventRetention?: number }, timers?: Timers) {
    const b = await startTestBroker({ config: { watchBookmarkIntervalMs: 200, leaseCheckIntervalMs: 600_000, ...config } });
    broker = b;
    const east = (await joinCluster(b, 'east')).identity;
    const west = (await joinCluster(b, 'west')).identity;
    const view = new CatalogView();
    // As main.ts wires it: the watch feeds one dispatcher, which the view follows.
    const stream = new WatchDispatcher();
    view.follow(stream);
    const changes: string[] = [];
    let relists = 0;
    view.onChange((ns, name) => changes.push(`${ns}/${name}`));
    view.on('synced', () => { relists++; });
    client = new WatchClient({
      sink: stream, logger, baseUrl: b.url, trustBundle: b.caPem, clientCert: west,
      backoffInitialMs: 50, backoffMaxMs: 200, bookmarkTimeoutMs: 5_000, ...(timers ? { timers } : {}),
    });
    return { east, west, view, changes, snapshots: () => relists };
  }

  const publish = (b: TestBroker, identity: ClientIdentity, spec: ExportSpecInput) =>
    b.call(catalogPaths.export(spec.namespace, spec.name), { method: 'PUT', body: spec, identity });
  const withdraw = (b: TestBroker, identity: ClientIdentity, namespace: string, name: string) =>
    b.call(catalogPaths.export(namespace, name), { method: 'DELETE', identity });
  const sameBrokerPort = (b: TestBroker) => ({ listen: `127.0.0.1:${new URL(b.url).port}`, watchBookmarkIntervalMs: 200, leaseCheckIntervalMs: 600_000 });

  it('keeps its state through a broker outage and resumes from the last revision without a relist', async () => {
    const { east, view, snapshots } = await setUp({});
    expect((await publish(broker!, east, exportSpec('east', 'shop', 'web'))).status).toBe(200);
    client!.start();
    await waitFor(() => view.get('shop', 'web') !== undefined, { what: 'web in the view', timeoutMs: 15_000, intervalMs: 20 });
    const revision = client!.revision;

    await broker!.broker.stop();
    await waitFor(() => client!.state === 'backoff', { what: 'client backing off', timeoutMs: 15_000, intervalMs: 20 });
    // An outage is not a deletion.
    expect(view.get('shop', 'web')).toBeDefined();
    expect(view.exportsOf('shop', 'web').map((e) => e.cluster)).toEqual(['east']);
    expect(client!.revision).toBe(revision);

    broker = await restartTestBroker(broker!, sameBrokerPort(broker!));
    expect((await publish(broker, east, exportSpec('east', 'shop', 'db'))).status).toBe(200);
    await waitFor(() => view.get('shop', 'db') !== undefined, { what: 'db after the outage', timeoutMs: 15_000, intervalMs: 20 });
    expect(view.get('shop', 'web')).toBeDefined();
    expect(snapshots()).toBe(1);
  });

  it('relists when its revision was compacted away, and reports the keys that vanished meanwhile', async () => {
    const timers = new FakeTimers();
    const { east, view, changes, snapshots } = await setUp({ eventRetention: 2 }, timers);
    await publish(broker!, east, exportSpec('east', 'shop', 'web'));
    await publish(broker!, east, exportSpec('east', 'shop', 'db'));
    client!.start();
    await waitFor(() => view.get('shop', 'db') !== undefined, { what: 'initial snapshot', timeoutMs: 15_000, intervalMs: 20 });

    await broker!.broker.stop();
    // The client now waits on our timers: nothing reconnects until we move them.
    await waitFor(() => client!.state === 'backoff', { what: 'client backing off', timeoutMs: 15_000, intervalMs: 20 });
    broker = await restartTestBroker(broker!, { ...sameBrokerPort(broker!), eventRetention: 2 });
    await withdraw(broker, east, 'shop', 'web');
    for (const name of ['a', 'b', 'c']) await publish(broker, east, exportSpec('east', 'shop', name));
    changes.length = 0;

    timers.fireNext();
    await waitFor(() => snapshots() === 2 && view.get('shop', 'c') !== undefined, { what: 'relisted snapshot', timeoutMs: 15_000, intervalMs: 20 });
    expect(view.get('shop', 'web')).toBeUndefined();
    expect(view.keys().map(([, n]) => n)).toEqual(['a', 'b', 'c', 'db']);
    expect([...new Set(changes)].sort()).toEqual(['shop/a', 'shop/b', 'shop/c', 'shop/web']);
  });
});
