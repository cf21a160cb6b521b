// Wiring of the RBAC baseline controller: the four owned-object informers (label-filtered
// to `rbac.plexus.io/owned=true`), which events enqueue which key, when the baseline is
// refetched (start, every `rbac` watch event, every catalog relist, and a periodic
// resync), and the status reporter. Any change to an owned object by anyone enqueues
// that object's key, so edits and deletions are corrected within one reconcile.
import type { Logger } from 'pino';
import type { RbacClusterBaseline, RbacStatusReport } from '../../broker/api/rbac.ts';
import {
  Controller,
  type InformerRegistry, type KubeApi, type KubeObject,
} from '../kube/index.ts';
import type { BackoffOptions } from '../timing/backoff.ts';
import type { Clock, Timers } from '../timing/clock.ts';
import { WATCHED_RBAC_RESOURCES, objectRefKey } from './desired-state.ts';
import { RbacState } from './rbac-state.ts';
import { BASELINE_KEY, RbacReconciler, type RbacReconcilerDeps } from './reconciler.ts';
import { StatusReporter } from './status-reporter.ts';

/** The broker calls this controller makes (agent/broker-client/BrokerClient provides them). */
export interface RbacBroker {
  rbacBaseline(): Promise<RbacClusterBaseline>;
  putRbacStatus(report: RbacStatusReport): Promise<void>;
}

/** The catalog watch's RBAC signals (agent/broker-client/WatchDispatcher provides them). */
export interface RbacSignals {
  on(event: 'rbacChanged', cb: (rbacRevision: number) => void): () => void;
  /** A catalog snapshot (first or relist): `rbac` events before it may have been compacted away. */
  on(event: 'snapshot', cb: () => void): () => void;
}

export interface RbacControllerDeps {
  api: KubeApi;
  informers: InformerRegistry;
  broker: RbacBroker;
  signals: RbacSignals;
  logger: Logger;
  clock: Clock;
  timers: Timers;
  backoff?: BackoffOptions;
  /** Baseline refetch without an event; default 5 min. */
  resyncMs?: number;
  /** Status reports are coalesced over this long; default 200 ms. */
  reportDebounceMs?: number;
  workers?: number;
  metrics?: RbacReconcilerDeps['metrics'];
}

export interface RbacController {
  readonly controller: Controller;
  readonly state: RbacState;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const RBAC_COMPONENT = 'rbac';

export function setupRbacController(d: RbacControllerDeps): RbacController {
  const informers = d.informers.declare(RBAC_COMPONENT, WATCHED_RBAC_RESOURCES);
  const log = d.logger.child({ component: RBAC_COMPONENT });
  const state = new RbacState();
  // The reconciler enqueues through the controller that runs it (called only once it runs).
  const enqueue = (key: string) => controller.enqueue(key);
  const reconciler = new RbacReconciler({
    api: d.api, informers, state, fetchBaseline: () => d.broker.rbacBaseline(), enqueue, clock: d.clock, resyncMs: d.resyncMs ?? 300_000,
    metrics: d.metrics,
  });
  const controller = new Controller({
    name: RBAC_COMPONENT, reconciler, logger: d.logger, timers: d.timers,
    workers: d.workers ?? 4, ...(d.backoff ? { backoff: d.backoff } : {}),
  });
  const reporter = new StatusReporter({
    send: (r) => d.broker.putRbacStatus(r), render: () => state.report(), timers: d.timers, logger: log,
    debounceMs: d.reportDebounceMs ?? 200, retry: { baseMs: 500, maxMs: 30_000, jitter: 0.2 },
  });
  state.onChange(() => reporter.poke());

  for (const r of WATCHED_RBAC_RESOURCES) {
    informers.get(r).onChange((obj: KubeObject) => enqueue(objectRefKey(r.kind as 'Role', obj)));
  }
  const refetch = () => enqueue(BASELINE_KEY);
  const unsubscribe = [d.signals.on('rbacChanged', refetch), d.signals.on('snapshot', refetch)];

  let stopped = false;
  return {
    controller,
    state,
    async start() {
      await informers.waitForSync();
      if (stopped) return;
      controller.start();
      refetch();
    },
    async stop() {
      stopped = true;
      for (const u of unsubscribe) u();
      reporter.stop();
      await controller.stop();
    },
  };
}
