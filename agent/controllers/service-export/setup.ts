// Wiring of the ServiceExport controller: the informers it declares, informer events
// mapped to ServiceExport keys (named domain events, contents never trusted), and the
// start-up order: caches synced → one syncExports of every valid export (withdrawing what
// was deleted while the agent was down) → workers.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ExportSpec } from '../../../broker/api/catalog.ts';
import type { ServiceExport } from '../../../crds/types.ts';
import { backoffDelay, type BackoffOptions } from '../../timing/backoff.ts';
import { delay, type Clock, type Timers } from '../../timing/clock.ts';
import { Controller } from '../../kube/controller.ts';
import type { InformerRegistry } from '../../kube/informer-registry.ts';
import { keyOf, objectKey } from '../../kube/object-key.ts';
import { ENDPOINT_SLICES, INDEX_SERVICE_NAME, LABEL_SERVICE_NAME, SERVICES, SERVICE_EXPORTS } from '../../kube/resources.ts';
import type { StatusWriter } from '../../kube/status-writer.ts';
import { buildExportSpec } from './export-spec.ts';
import { ServiceExportReconciler, type ExportCaches, type ExportPublisher, type MergedServiceSource, type ServiceExportReconcilerDeps } from './reconciler.ts';

export interface ServiceExportControllerDeps {
  clusterId: string;
  informers: InformerRegistry;
  status: Pick<StatusWriter, 'apply'>;
  broker: ExportPublisher;
  mergedServices: MergedServiceSource;
  logger: Logger;
  clock: Clock;
  timers: Timers;
  workers?: number;
  backoff?: BackoffOptions;
  /** Retry pacing of the start-up sync while the broker is unreachable. */
  syncBackoff?: BackoffOptions;
  rejectedRetryMs?: number;
  random?: () => number;
  metrics?: ServiceExportReconcilerDeps['metrics'];
  /** The fleet's networks (agent/network/NetworkView): when they change, every export's CrossNetwork condition is recomputed. */
  networks?: (NonNullable<ServiceExportReconcilerDeps['networks']> & { onNetworksChange(cb: () => void): unknown }) | undefined;
}

export interface ServiceExportController {
  readonly controller: Controller;
  /** Waits for the caches, syncs the export set once, then starts the workers. */
  start(): Promise<void>;
  /** The broker answers again: end the start-up sync's backoff and every requeue backoff now. */
  retryBrokerNow(): void;
  stop(): Promise<void>;
}

export function setupServiceExportController(d: ServiceExportControllerDeps): ServiceExportController {
  const log = d.logger.child({ component: 'service-export' });
  const informers = d.informers.declare('service-export', [SERVICE_EXPORTS, SERVICES, ENDPOINT_SLICES]);
  const caches: ExportCaches = {
    serviceExports: informers.get(SERVICE_EXPORTS),
    services: informers.get(SERVICES),
    endpointSlices: { byIndex: (i, v) => informers.get(ENDPOINT_SLICES).byIndex(i, v) },
  };
  const reconciler = new ServiceExportReconciler({
    clusterId: d.clusterId, caches, broker: d.broker, mergedServices: d.mergedServices, status: d.status, clock: d.clock,
    ...(d.rejectedRetryMs === undefined ? {} : { rejectedRetryMs: d.rejectedRetryMs }),
    ...(d.metrics ? { metrics: d.metrics } : {}),
    networks: d.networks,
  });
  const controller = new Controller({
    name: 'service-export', reconciler, logger: d.logger, timers: d.timers, workers: d.workers ?? 2,
    ...(d.backoff ? { backoff: d.backoff } : {}), ...(d.random ? { random: d.random } : {}),
  });
  wireEvents(informers.get(SERVICE_EXPORTS), informers.get(SERVICES), informers.get(ENDPOINT_SLICES), d.mergedServices, controller, caches);
  d.networks?.onNetworksChange(() => {
    for (const se of informers.get(SERVICE_EXPORTS).list()) controller.enqueue(keyOf(se));
  });
  const stopping = new AbortController();
  // Aborted (and replaced) by retryBrokerNow() to cut the start-up sync's current backoff short.
  let brokerBack = new AbortController();

  return {
    controller,
    async start() {
      d.informers.start();
      await informers.waitForSync();
      const synced = await initialSync(d, caches, informers.get(SERVICE_EXPORTS).list(), stopping.signal, log, () => brokerBack.signal);
      if (stopping.signal.aborted) return;
      reconciler.markPublished(synced);
      controller.start();
      for (const se of informers.get(SERVICE_EXPORTS).list()) controller.enqueue(keyOf(se));
    },
    retryBrokerNow() {
      brokerBack.abort();
      brokerBack = new AbortController();
      controller.queue.addDelayedNow();
    },
    async stop() {
      stopping.abort();
      await controller.stop();
    },
  };
}

interface Watchable<T> { onChange(h: (obj: T) => void): void; get(namespace: string | undefined, name: string): T | undefined }

/** Informer events → ServiceExport keys. Only keys of existing ServiceExports, plus deletions. */
function wireEvents(
  exports: Watchable<ServiceExport>, services: Watchable<V1Service>, slices: Watchable<V1EndpointSlice>,
  merged: MergedServiceSource, controller: Controller, caches: ExportCaches,
): void {
  const ifExported = (namespace: string | undefined, name: string | undefined) => {
    if (namespace && name && caches.serviceExports.get(namespace, name)) controller.enqueue(objectKey(namespace, name));
  };
  const serviceExportChanged = (se: ServiceExport) => controller.enqueue(keyOf(se));
  const serviceChanged = (svc: V1Service) => ifExported(svc.metadata?.namespace, svc.metadata?.name);
  // A slice may move between Services (label edit); remember where it was, to refresh both.
  const sliceOwner = new Map<string, string | undefined>();
  const endpointSliceChanged = (s: V1EndpointSlice) => {
    const key = keyOf(s);
    const owner = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    const before = sliceOwner.get(key);
    if (slices.get(s.metadata?.namespace, s.metadata?.name ?? '')) sliceOwner.set(key, owner);
    else sliceOwner.delete(key);
    if (before !== undefined && before !== owner) ifExported(s.metadata?.namespace, before);
    ifExported(s.metadata?.namespace, owner);
  };
  exports.onChange(serviceExportChanged);
  services.onChange(serviceChanged);
  slices.onChange(endpointSliceChanged);
  merged.onChange((namespace, name) => ifExported(namespace, name));
}

/** One syncExports of every currently valid export, retried until it lands or stop(). */
async function initialSync(
  d: ServiceExportControllerDeps, caches: ExportCaches, all: readonly ServiceExport[], signal: AbortSignal, log: Logger, brokerBack: () => AbortSignal,
): Promise<string[]> {
  const specs: ExportSpec[] = [];
  for (const se of all) {
    const ns = se.metadata?.namespace;
    const name = se.metadata?.name;
    if (!ns || !name || se.metadata?.deletionTimestamp) continue;
    const service = caches.services.get(ns, name);
    if (!service || service.spec?.type === 'ExternalName') continue;
    const slices = caches.endpointSlices.byIndex(INDEX_SERVICE_NAME, `${ns}/${name}`);
    const built = buildExportSpec({ clusterId: d.clusterId, serviceExport: se, service, slices });
    if (built.ok) specs.push(built.spec);
  }
  const backoff = d.syncBackoff ?? { baseMs: 500, maxMs: 30_000, jitter: 0.3 };
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const res = await d.broker.syncExports({ exports: specs });
      log.info({ exports: specs.length, result: res }, 'export set synced with the broker');
      return specs.map((s) => objectKey(s.namespace, s.name));
    } catch (err) {
      const ms = backoffDelay(attempt, backoff, d.random);
      log.warn({ err: (err as Error).message, code: (err as { code?: unknown }).code, attempt, retryInMs: ms }, 'start-up export sync failed');
      await delay(d.timers, ms, AbortSignal.any([signal, brokerBack()]));
    }
  }
  return [];
}
