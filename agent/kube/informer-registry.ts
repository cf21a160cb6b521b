// Shared informers, declared up front per component (Linkerd's controller/k8s/api.go):
// a component gets a view holding only the resource types it declared, and asking that
// view for anything else throws at wiring time instead of silently watching more.
import type { Logger } from 'pino';
import { AgentError } from '../errors.ts';
import type { BackoffOptions } from './backoff.ts';
import type { Timers } from './clock.ts';
import { Informer, type ListWatchFactory } from './informer.ts';
import { resourceId, type KubeObject, type ResourceType } from './resources.ts';

export interface InformerRegistryDeps {
  listWatch: ListWatchFactory;
  logger: Logger;
  timers: Timers;
  backoff?: BackoffOptions;
  random?: () => number;
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

  constructor(deps: InformerRegistryDeps) {
    this.#deps = deps;
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
        logger: d.logger, timers: d.timers,
        ...(d.backoff ? { backoff: d.backoff } : {}), ...(d.random ? { random: d.random } : {}),
      });
      this.#informers.set(id, inf);
      this.#types.set(id, r);
      if (this.#started) inf.start();
    }
    return inf;
  }
}
