// Shared informers, declared up front per component (Linkerd's controller/k8s/api.go):
// a component gets a view holding only the resource types it declared, and asking that
// view for anything else throws at wiring time instead of silently watching more.
//
// After a long API-server outage every informer's restart delay has grown to its cap, so
// changes made right after the server returned would wait up to that cap. While any
// informer is failing, the registry probes the server's readiness cheaply (`readyz`)
// every `intervalMs`; when a probe succeeds after one failed, every failing informer
// restarts at once. A success without a failed probe means the failure is not an outage
// (e.g. RBAC): the backoff is left alone, so a persistent error is not retried at the
// probe's pace.
import type { Logger } from 'pino';
import { AgentError } from '../errors.ts';
import type { BackoffOptions } from '../timing/backoff.ts';
import type { TimerHandle, Timers } from '../timing/clock.ts';
import { Informer, type ListWatchFactory } from './informer.ts';
import { resourceId, type KubeObject, type ResourceType } from './resources.ts';

export interface InformerRegistryDeps {
  listWatch: ListWatchFactory;
  logger: Logger;
  timers: Timers;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Readiness probe of the API server, run while informers fail; absent = backoff only. */
  recovery?: { probe: () => Promise<boolean>; intervalMs: number };
}

/** The informers one component declared. */
export interface ComponentInformers {
  readonly component: string;
  /** Throws PLX_AGENT_INFORMER_UNDECLARED for a resource the component did not declare. */
  get<T extends KubeObject>(r: ResourceType<T>): Informer<T>;
  hasSynced(): boolean;
  waitForSync(): Promise<void>;
}

export class InformerRegistry {
  readonly #deps: InformerRegistryDeps;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #types = new Map<string, ResourceType<never>>();
  #started = false;
  #stopped = false;
  #probeTimer: TimerHandle | undefined;
  /** A probe failed since the informers began failing: the next success is the server's return. */
  #sawDown = false;

  constructor(deps: InformerRegistryDeps) {
    this.#deps = deps;
  }

  #onRetryScheduled = (): void => {
    const r = this.#deps.recovery;
    if (!r || this.#stopped || this.#probeTimer !== undefined) return;
    this.#probeTimer = this.#deps.timers.setTimeout(() => void this.#probe(), r.intervalMs);
  };

  async #probe(): Promise<void> {
    const failing = () => [...this.#informers.values()].filter((i) => i.retrying);
    if (this.#stopped || failing().length === 0) {
      this.#probeTimer = undefined;
      this.#sawDown = false;
      return;
    }
    const ready = await this.#deps.recovery!.probe().catch(() => false);
    this.#probeTimer = undefined;
    if (this.#stopped) return;
    if (!ready) {
      this.#sawDown = true;
      this.#onRetryScheduled();
      return;
    }
    const wasDown = this.#sawDown;
    this.#sawDown = false;
    if (!wasDown) return;
    const now = failing();
    this.#deps.logger.info({ informers: now.map((i) => resourceId(i.resource)) }, 'API server ready again; restarting failed informers now');
    for (const i of now) i.retryNow();
  }

  /** Declares what `component` will read; informers are shared between components. */
  declare(component: string, resources: readonly ResourceType<never>[]): ComponentInformers {
    const mine = new Map<string, Informer<KubeObject>>();
    for (const r of resources) mine.set(resourceId(r), this.#ensure(r));
    const all = () => [...mine.values()];
    return {
      component,
      get: <T extends KubeObject>(r: ResourceType<T>): Informer<T> => {
        const inf = mine.get(resourceId(r as ResourceType<never>));
        if (!inf) {
          throw new AgentError('PLX_AGENT_INFORMER_UNDECLARED', `${component} did not declare an informer for ${resourceId(r as ResourceType<never>)}; add it to its declare() list`);
        }
        return inf as unknown as Informer<T>;
      },
      hasSynced: () => all().every((i) => i.hasSynced()),
      waitForSync: async () => {
        await Promise.all(all().map((i) => i.waitForSync()));
      },
    };
  }

  /** Starts every declared informer; informers declared later start at once. */
  start(): void {
    this.#started = true;
    for (const i of this.#informers.values()) i.start();
  }

  hasSynced(): boolean {
    return [...this.#informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#probeTimer !== undefined) this.#deps.timers.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }

  #ensure(r: ResourceType<never>): Informer<KubeObject> {
    const id = resourceId(r);
    const known = this.#types.get(id);
    if (known && known !== r) {
      throw new AgentError('PLX_AGENT_INFORMER_UNDECLARED', `two different descriptors for ${id}; use the shared constant from agent/kube/resources.ts`);
    }
    let inf = this.#informers.get(id);
    if (!inf) {
      const d = this.#deps;
      inf = new Informer<KubeObject>(r as ResourceType<KubeObject>, d.listWatch(r as ResourceType<KubeObject>), {
        logger: d.logger, timers: d.timers, onRetryScheduled: this.#onRetryScheduled,
        ...(d.backoff ? { backoff: d.backoff } : {}), ...(d.random ? { random: d.random } : {}),
      });
      this.#informers.set(id, inf);
      this.#types.set(id, r);
      if (this.#started) inf.start();
    }
    return inf;
  }
}
