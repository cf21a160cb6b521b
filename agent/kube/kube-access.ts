// Everything a component needs to reach one API server, built once in main.ts from a
// KubeConfig: the REST surface, the shared informer registry and the status writer.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { BackoffOptions } from '../timing/backoff.ts';
import { systemTimers, type Timers } from '../timing/clock.ts';
import { InformerRegistry } from './informer-registry.ts';
import { listWatchFactory } from './informer.ts';
import { HttpKubeApi, type KubeApi } from './kube-api.ts';
import { StatusWriter } from './status-writer.ts';

export interface KubeAccess {
  readonly api: KubeApi;
  readonly informers: InformerRegistry;
  readonly status: StatusWriter;
  /** Stops the informers, then closes the API connections. */
  close(): Promise<void>;
}

export interface KubeAccessOptions {
  logger: Logger;
  timers?: Timers;
  informerBackoff?: BackoffOptions;
  requestTimeoutMs?: number;
  /**
   * While informers fail, probe /readyz this often and restart them all as soon as the API
   * server is back (InformerRegistry); 0 turns it off. Default 1000.
   */
  apiServerProbeIntervalMs?: number;
}

export function kubeAccess(kc: KubeConfig, o: KubeAccessOptions): KubeAccess {
  const api = new HttpKubeApi(kc, o.requestTimeoutMs === undefined ? {} : { timeoutMs: o.requestTimeoutMs });
  const probeMs = o.apiServerProbeIntervalMs ?? 1000;
  const informers = new InformerRegistry({
    listWatch: listWatchFactory(kc, api),
    logger: o.logger.child({ component: 'informers' }),
    timers: o.timers ?? systemTimers,
    ...(o.informerBackoff ? { backoff: o.informerBackoff } : {}),
    ...(probeMs > 0 ? { recovery: { intervalMs: probeMs, probe: () => api.ready(Math.max(probeMs, 1000)) } } : {}),
  });
  return {
    api, informers, status: new StatusWriter(api),
    async close() {
      await informers.stop();
      await api.close();
    },
  };
}
