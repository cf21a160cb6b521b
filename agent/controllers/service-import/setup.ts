// Wiring of the import controller: the informers it declares, and which events enqueue
// which `namespace/name` key. Catalog changes, a namespace appearing, and any change to a
// Plexus-owned ServiceImport, derived Service or imported EndpointSlice (drift, deletion
// by hand) all enqueue the import's key. The controller starts only once both the
// informer caches and the broker catalog are synced, then resyncs every key it can see,
// so a restart converges on exactly the desired objects.
import type { Logger } from 'pino';
import {
  Controller, ENDPOINT_SLICES, NAMESPACES, SERVICES, SERVICE_IMPORTS, keyOf,
  type InformerRegistry, type KubeApi, type KubeObject, type StatusWriter,
} from '../../kube/index.ts';
import type { BackoffOptions } from '../../timing/backoff.ts';
import type { Timers } from '../../timing/clock.ts';
import { LABEL_SERVICE_NAME } from '../../../crds/types.ts';
import { isPlexusOwned } from './owned-objects.ts';
import { ServiceImportReconciler, type ImportCatalogReader, type ServiceImportReconcilerDeps } from './reconciler.ts';
import type { ImportTopology } from '../../topology/import-ranking.ts';
import { ServedFamilies } from './served-families.ts';

/** The catalog as this controller consumes it (agent/catalog/CatalogView provides it). */
export interface ImportCatalog extends ImportCatalogReader {
  onChange(cb: (namespace: string, name: string) => void): void;
  keys(): [string, string][];
  whenSynced(): Promise<void>;
}

export interface ServiceImportControllerDeps {
  api: KubeApi;
  informers: InformerRegistry;
  status: StatusWriter;
  catalog: ImportCatalog;
  logger: Logger;
  timers: Timers;
  workers?: number;
  backoff?: BackoffOptions;
  /** Nearest-instance ranking; its changes (health, RTT bands) re-reconcile the services it names. */
  topology?: (ImportTopology & { onChange(cb: (namespace: string, name: string) => void): void }) | undefined;
  metrics?: ServiceImportReconcilerDeps['metrics'];
  /** Networks and gateways (agent/network/NetworkView); a cluster's network or gateway changing re-reconciles what it exports. */
  network?: (NonNullable<ServiceImportReconcilerDeps['network']> & { onChange(cb: (namespace: string, name: string) => void): unknown }) | undefined;
}

export interface ServiceImportController {
  readonly controller: Controller;
  /** Waits for the informers (started by the caller's registry) and the catalog, then runs. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const SERVICE_IMPORT_COMPONENT = 'service-import';

export function setupServiceImportController(d: ServiceImportControllerDeps): ServiceImportController {
  const informers = d.informers.declare(SERVICE_IMPORT_COMPONENT, [NAMESPACES, SERVICE_IMPORTS, SERVICES, ENDPOINT_SLICES]);
  const reconciler = new ServiceImportReconciler({
    api: d.api, informers, status: d.status, catalog: d.catalog, topology: d.topology, metrics: d.metrics, servedFamilies: new ServedFamilies(d.api),
    network: d.network,
  });
  const controller = new Controller({
    name: SERVICE_IMPORT_COMPONENT, reconciler, logger: d.logger, timers: d.timers,
    ...(d.workers ? { workers: d.workers } : {}), ...(d.backoff ? { backoff: d.backoff } : {}),
  });
  const enqueue = (namespace: string, name: string) => controller.enqueue(`${namespace}/${name}`);
  const enqueueOwned = (obj: KubeObject) => {
    const name = obj.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (isPlexusOwned(obj) && name && obj.metadata?.namespace) enqueue(obj.metadata.namespace, name);
  };

  d.catalog.onChange(enqueue);
  d.topology?.onChange(enqueue);
  d.network?.onChange(enqueue);
  informers.get(NAMESPACES).onChange((ns) => {
    const namespace = ns.metadata?.name;
    for (const [n, name] of d.catalog.keys()) if (n === namespace) enqueue(n, name);
  });
  informers.get(SERVICE_IMPORTS).onChange((si) => {
    if (isPlexusOwned(si)) controller.enqueue(keyOf(si));
  });
  informers.get(SERVICES).onChange(enqueueOwned);
  informers.get(ENDPOINT_SLICES).onChange(enqueueOwned);

  /** Every key the catalog knows, plus every key that still has Plexus-owned objects here. */
  const resyncAll = () => {
    for (const [namespace, name] of d.catalog.keys()) enqueue(namespace, name);
    for (const si of informers.get(SERVICE_IMPORTS).list()) if (isPlexusOwned(si)) controller.enqueue(keyOf(si));
    for (const svc of informers.get(SERVICES).list()) enqueueOwned(svc);
    for (const slice of informers.get(ENDPOINT_SLICES).list()) enqueueOwned(slice);
  };

  let stopped = false;
  return {
    controller,
    async start() {
      await Promise.all([informers.waitForSync(), d.catalog.whenSynced()]);
      if (stopped) return;
      resyncAll();
      controller.start();
    },
    async stop() {
      stopped = true;
      await controller.stop();
    },
  };
}
