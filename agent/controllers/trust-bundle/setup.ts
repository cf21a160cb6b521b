// Wiring of the trust-bundle controller: its two informers (all Namespaces; ConfigMaps
// named plexus-trust-bundle only), which events enqueue which namespace, and the identity
// subscription: when the trust bundle changes (CA rollover), every opted-in namespace is
// requeued so each ConfigMap carries the new roots.
import type { Logger } from 'pino';
import {
  Controller, NAMESPACES, TRUST_BUNDLE_CONFIG_MAPS,
  type InformerRegistry, type KubeApi,
} from '../../kube/index.ts';
import type { BackoffOptions } from '../../timing/backoff.ts';
import type { Clock, Timers } from '../../timing/clock.ts';
import { TrustBundleReconciler } from './reconciler.ts';
import { wantsBundle } from './trust-bundle-config-map.ts';

/** The identity as this controller consumes it (agent/identity/LiveIdentity provides it). */
export interface TrustBundleSource {
  current(): { trustBundle: string };
  subscribe(fn: (next: { trustBundle: string }, previous: { trustBundle: string }) => void): () => void;
}

export interface TrustBundleControllerDeps {
  api: KubeApi;
  informers: InformerRegistry;
  identity: TrustBundleSource;
  clusterId: string;
  logger: Logger;
  clock: Clock;
  timers: Timers;
  backoff?: BackoffOptions;
  workers?: number;
}

export interface TrustBundleController {
  readonly controller: Controller;
  /** Waits for the informers (started by the caller's registry), then runs. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const TRUST_BUNDLE_COMPONENT = 'trust-bundle';

export function setupTrustBundleController(d: TrustBundleControllerDeps): TrustBundleController {
  const informers = d.informers.declare(TRUST_BUNDLE_COMPONENT, [NAMESPACES, TRUST_BUNDLE_CONFIG_MAPS]);
  const reconciler = new TrustBundleReconciler({
    api: d.api, informers, bundle: () => d.identity.current().trustBundle, clock: d.clock, clusterId: d.clusterId,
  });
  const controller = new Controller({
    name: TRUST_BUNDLE_COMPONENT, reconciler, logger: d.logger, timers: d.timers,
    ...(d.workers ? { workers: d.workers } : {}), ...(d.backoff ? { backoff: d.backoff } : {}),
  });
  const enqueue = (namespace: string | undefined) => {
    if (namespace) controller.enqueue(namespace);
  };
  // Every namespace event: the label may have come or gone. Every ConfigMap event: drift.
  informers.get(NAMESPACES).onChange((ns) => enqueue(ns.metadata?.name));
  informers.get(TRUST_BUNDLE_CONFIG_MAPS).onChange((cm) => enqueue(cm.metadata?.namespace));
  const requeueOptedIn = () => {
    for (const ns of informers.get(NAMESPACES).list()) if (wantsBundle(ns)) enqueue(ns.metadata?.name);
  };
  const unsubscribe = d.identity.subscribe((next, previous) => {
    if (next.trustBundle !== previous.trustBundle) requeueOptedIn();
  });

  let stopped = false;
  return {
    controller,
    async start() {
      await informers.waitForSync();
      if (stopped) return;
      // Our ConfigMaps in namespaces that no longer ask for them are pruned too.
      for (const cm of informers.get(TRUST_BUNDLE_CONFIG_MAPS).list()) enqueue(cm.metadata?.namespace);
      requeueOptedIn();
      controller.start();
    },
    async stop() {
      stopped = true;
      unsubscribe();
      await controller.stop();
    },
  };
}
