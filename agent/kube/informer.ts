// One shared list+watch cache of one resource type, on client-node's ListWatch. ListWatch
// already relists on 410 Gone and re-watches after a client-side timeout; it gives up on
// any other error, so this class restarts it with exponential backoff and jitter (which
// retryNow() cuts short once the API server is known to answer again). Adds
// hasSynced()/waitForSync(), secondary indexes, and handlers that can never throw into
// the watch loop.
// From their own modules, not the package index (which loads every generated API; kube-api.ts).
import { ListWatch } from '@kubernetes/client-node/dist/cache.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../timing/backoff.ts';
import type { TimerHandle, Timers } from '../timing/clock.ts';
import type { KubeApi } from './kube-api.ts';
import { keyOf } from './object-key.ts';
import { resourceId, resourcePath, type KubeObject, type ResourceType } from './resources.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
export type ObjectHandler<T> = (obj: T) => void;

/** What Informer needs of client-node's ListWatch (a seam for unit tests). */
export interface ListWatchLike<T> {
  on(verb: InformerEvent, cb: (obj: T) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

export type ListWatchFactory = <T extends KubeObject>(r: ResourceType<T>) => ListWatchLike<T>;

/** The real thing: ListWatch over the API server of `kc`, listing through `api`. */
export function listWatchFactory(kc: KubeConfig, api: KubeApi): ListWatchFactory {
  return <T extends KubeObject>(r: ResourceType<T>) =>
    new ListWatch<T>(resourcePath(r), new Watch(kc), () => api.list(r, selectorsOf(r)), false, r.labelSelector, r.fieldSelector) as ListWatchLike<T>;
}

/** The list half of an informer narrows like its watch half. */
function selectorsOf(r: ResourceType<never>): { labelSelector?: string; fieldSelector?: string } {
  return { ...(r.labelSelector ? { labelSelector: r.labelSelector } : {}), ...(r.fieldSelector ? { fieldSelector: r.fieldSelector } : {}) };
}

export interface InformerOptions {
  logger: Logger;
  timers: Timers;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Called each time a restart is scheduled (the registry starts its readiness probe). */
  onRetryScheduled?: () => void;
}

export class Informer<T extends KubeObject> {
  readonly resource: ResourceType<T>;
  readonly #lw: ListWatchLike<T>;
  readonly #log: Logger;
  readonly #o: Required<Omit<InformerOptions, 'logger'>>;
  readonly #handlers: Record<InformerEvent, ObjectHandler<T>[]> = { add: [], update: [], delete: [] };
  readonly #index = new Map<string, Map<string, Set<string>>>();
  readonly #indexedAs = new Map<string, Map<string, readonly string[]>>();
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #state: 'new' | 'running' | 'stopped' = 'new';
  #errors = 0;
  #attempt = 0;
  #retry: TimerHandle | undefined;

  constructor(resource: ResourceType<T>, lw: ListWatchLike<T>, o: InformerOptions) {
    this.resource = resource;
    this.#lw = lw;
    this.#log = o.logger.child({ informer: resourceId(resource) });
    this.#o = {
      timers: o.timers, backoff: o.backoff ?? { baseMs: 500, maxMs: 30_000, jitter: 0.2 }, random: o.random ?? Math.random,
      onRetryScheduled: o.onRetryScheduled ?? (() => {}),
    };
    for (const name of Object.keys(resource.indexes ?? {})) this.#index.set(name, new Map());
    lw.on('add', (obj) => this.#dispatch('add', obj));
    lw.on('update', (obj) => this.#dispatch('update', obj));
    lw.on('delete', (obj) => this.#dispatch('delete', obj));
    lw.on('error', (err) => this.#onError(err));
  }

  /** Handlers run after the cache (and its indexes) already reflect the event. */
  on(event: InformerEvent, handler: ObjectHandler<T>): void {
    this.#handlers[event].push(handler);
  }

  /** add, update and delete alike: for level-based consumers that only need a key. */
  onChange(handler: ObjectHandler<T>): void {
    for (const e of ['add', 'update', 'delete'] as const) this.on(e, handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#lw.list(namespace);
  }

  /** Objects whose index function returned `value` (e.g. `ns/svc` for INDEX_SERVICE_NAME). */
  byIndex(index: string, value: string): T[] {
    const idx = this.#index.get(index);
    if (!idx) throw new RangeError(`${resourceId(this.resource)} has no index "${index}"`);
    const out: T[] = [];
    for (const key of idx.get(value) ?? []) {
      const slash = key.indexOf('/');
      const obj = slash < 0 ? this.#lw.get(key) : this.#lw.get(key.slice(slash + 1), key.slice(0, slash));
      if (obj) out.push(obj);
    }
    return out;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list is in the cache; at once after stop(). */
  waitForSync(): Promise<void> {
    if (this.#synced || this.#state === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** True while a restart after a failure is pending. */
  get retrying(): boolean {
    return this.#retry !== undefined;
  }

  /**
   * Cuts a pending restart's backoff short: restart now, and start the backoff over. For
   * when the API server is known to answer again (InformerRegistry's readiness probe).
   */
  retryNow(): void {
    if (this.#state !== 'running' || this.#retry === undefined) return;
    this.#o.timers.clearTimeout(this.#retry);
    this.#attempt = 0;
    void this.#run();
  }

  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    void this.#run();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#retry !== undefined) this.#o.timers.clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const w of this.#syncWaiters.splice(0)) w();
    await this.#lw.stop();
  }

  async #run(): Promise<void> {
    this.#retry = undefined;
    if (this.#state !== 'running') return;
    const errorsBefore = this.#errors;
    try {
      await this.#lw.start();
    } catch (err) {
      this.#onError(err);
      return;
    }
    if (this.#errors !== errorsBefore || this.#state !== 'running') return;
    this.#attempt = 0;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.debug({ objects: this.#lw.list().length }, 'synced');
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  #onError(err: unknown): void {
    this.#errors++;
    if (this.#state !== 'running' || this.#retry !== undefined) return;
    const ms = backoffDelay(++this.#attempt, this.#o.backoff, this.#o.random);
    this.#log.warn({ err: errText(err), attempt: this.#attempt, retryInMs: ms }, 'list/watch failed; restarting');
    this.#retry = this.#o.timers.setTimeout(() => void this.#run(), ms);
    this.#o.onRetryScheduled();
  }

  #dispatch(event: InformerEvent, obj: T): void {
    this.#reindex(event, obj);
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ event, key: keyOfObject(obj), rv: obj.metadata?.resourceVersion }, 'informer event');
    for (const h of this.#handlers[event]) {
      try {
        h(obj);
      } catch (err) {
        this.#log.error({ err: errText(err), event }, 'informer handler threw');
      }
    }
  }

  #reindex(event: InformerEvent, obj: T): void {
    const fns = this.resource.indexes;
    if (!fns) return;
    const key = keyOf(obj);
    const previous = this.#indexedAs.get(key);
    for (const [name, values] of previous ?? []) {
      for (const v of values) {
        const set = this.#index.get(name)?.get(v);
        set?.delete(key);
        if (set?.size === 0) this.#index.get(name)?.delete(v);
      }
    }
    this.#indexedAs.delete(key);
    if (event === 'delete') return;
    const now = new Map<string, readonly string[]>();
    for (const [name, fn] of Object.entries(fns)) {
      const values = safeIndex(fn, obj);
      now.set(name, values);
      const idx = this.#index.get(name)!;
      for (const v of values) {
        const set = idx.get(v) ?? new Set<string>();
        set.add(key);
        idx.set(v, set);
      }
    }
    this.#indexedAs.set(key, now);
  }
}

function safeIndex<T>(fn: (obj: T) => readonly string[], obj: T): readonly string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}

function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  const status = (err as { statusCode?: unknown; code?: unknown } | undefined);
  return `${String(status?.statusCode ?? status?.code ?? err)}`;
}

function keyOfObject(obj: KubeObject): string {
  return obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');
}
