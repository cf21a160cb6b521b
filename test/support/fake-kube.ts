// Test-only: an in-memory API server for the import controller's unit tests. It serves
// KubeApi (apply replaces what the manager sent, keeps uid, allocates ClusterIPs; status
// apply touches only status) and feeds real Informers through ListWatchLike, so the
// reconciler runs against the real informer, registry and controller code.
import type { KubernetesListObject } from '@kubernetes/client-node';
import { AgentError } from '../../agent/errors.ts';
import {
  resourceId,
  type InformerEvent, type KubeApi, type KubeObject, type ListOptions, type ListWatchFactory, type ListWatchLike, type ObjectRef, type ResourceType,
} from '../../agent/kube/index.ts';

type Listener = (verb: InformerEvent, obj: KubeObject) => void;

const refKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);

export class FakeKube implements KubeApi {
  readonly server = 'https://fake.invalid';
  readonly writes: string[] = [];
  /** The IP families this fake cluster is configured with (what a PreferDualStack Service gets). */
  servedFamilies: ('IPv4' | 'IPv6')[] = ['IPv4'];
  /** Set to make dryRunCreate fail, as a refusing admission webhook would. */
  dryRunFailure: AgentError | undefined;
  readonly #store = new Map<string, Map<string, KubeObject>>();
  readonly #listeners = new Map<string, Set<Listener>>();
  #uid = 0;
  #ip = 0;
  #rv = 0;

  #bucket(r: ResourceType<never>): Map<string, KubeObject> {
    const id = resourceId(r);
    let b = this.#store.get(id);
    if (!b) this.#store.set(id, (b = new Map()));
    return b;
  }

  #emit(r: ResourceType<never>, verb: InformerEvent, obj: KubeObject): void {
    for (const l of this.#listeners.get(resourceId(r)) ?? []) l(verb, structuredClone(obj));
  }

  /** Creates or replaces an object as a user would (no field manager). */
  put<T extends KubeObject>(r: ResourceType<T>, obj: T): T {
    const b = this.#bucket(r as ResourceType<never>);
    const key = refKey(obj.metadata?.namespace, obj.metadata!.name!);
    const prev = b.get(key);
    const next = structuredClone(obj);
    next.metadata = { ...next.metadata, uid: prev?.metadata?.uid ?? `uid-${++this.#uid}`, resourceVersion: String(++this.#rv) };
    b.set(key, next);
    this.#emit(r as ResourceType<never>, prev ? 'update' : 'add', next);
    return structuredClone(next) as T;
  }

  objects<T extends KubeObject>(r: ResourceType<T>, namespace?: string): T[] {
    return [...this.#bucket(r as ResourceType<never>).values()]
      .filter((o) => namespace === undefined || o.metadata?.namespace === namespace)
      .map((o) => structuredClone(o) as T)
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  }

  async list<T extends KubeObject>(r: ResourceType<T>, o: ListOptions = {}): Promise<KubernetesListObject<T>> {
    return { apiVersion: 'v1', kind: 'List', metadata: {}, items: this.objects(r, o.namespace) };
  }

  async get<T extends KubeObject>(r: ResourceType<T>, ref: ObjectRef): Promise<T | null> {
    const o = this.#bucket(r as ResourceType<never>).get(refKey(ref.namespace, ref.name));
    return o ? (structuredClone(o) as T) : null;
  }

  async apply<T extends KubeObject>(r: ResourceType<T>, obj: T, o: { subresource?: 'status' } = {}): Promise<T> {
    const b = this.#bucket(r as ResourceType<never>);
    const key = refKey(obj.metadata?.namespace, obj.metadata!.name!);
    const prev = b.get(key) as (T & { spec?: Record<string, unknown>; status?: unknown }) | undefined;
    this.writes.push(`${o.subresource ? 'status ' : ''}apply ${r.kind} ${key}`);
    if (o.subresource === 'status') {
      if (!prev) throw new AgentError('PLX_AGENT_KUBE', `${key} not found`, { status: 404 });
      return this.put(r, { ...prev, status: (obj as { status?: unknown }).status });
    }
    const next = structuredClone(obj) as T & { spec?: Record<string, unknown>; status?: unknown };
    next.metadata = { ...next.metadata, ...(prev?.metadata?.creationTimestamp ? { creationTimestamp: prev.metadata.creationTimestamp } : {}) };
    if (prev?.status !== undefined) next.status = prev.status;
    if (r.kind === 'Service') {
      const ip = (prev?.spec?.clusterIP as string | undefined) ?? `10.96.0.${++this.#ip}`;
      next.spec = { ...next.spec, clusterIP: ip, clusterIPs: [ip] };
    }
    return this.put(r, next);
  }

  async dryRunCreate<T extends KubeObject>(r: ResourceType<T>, obj: T): Promise<T> {
    this.writes.push(`dry-run create ${r.kind} ${refKey(obj.metadata?.namespace, obj.metadata?.name ?? obj.metadata?.generateName ?? '')}`);
    if (this.dryRunFailure) throw this.dryRunFailure;
    const next = structuredClone(obj) as T & { spec?: { ipFamilyPolicy?: string; ipFamilies?: string[] } };
    if (r.kind === 'Service') {
      const policy = next.spec?.ipFamilyPolicy ?? 'SingleStack';
      next.spec = { ...next.spec, ipFamilies: policy === 'SingleStack' ? this.servedFamilies.slice(0, 1) : [...this.servedFamilies] };
    }
    return next;
  }

  async delete(r: ResourceType<never>, ref: ObjectRef): Promise<boolean> {
    const b = this.#bucket(r);
    const key = refKey(ref.namespace, ref.name);
    const prev = b.get(key);
    if (!prev) return false;
    this.writes.push(`delete ${r.kind} ${key}`);
    b.delete(key);
    this.#emit(r, 'delete', prev);
    return true;
  }

  readonly listWatch: ListWatchFactory = <T extends KubeObject>(r: ResourceType<T>): ListWatchLike<T> => {
    const cache = new Map<string, T>();
    const handlers: Record<string, ((obj: T) => void)[]> = {};
    const on = (verb: string, cb: (obj: T) => void) => { (handlers[verb] ??= []).push(cb); };
    const listener: Listener = (verb, obj) => {
      const key = refKey(obj.metadata?.namespace, obj.metadata!.name!);
      if (verb === 'delete') cache.delete(key);
      else cache.set(key, obj as T);
      for (const h of handlers[verb] ?? []) h(obj as T);
    };
    const id = resourceId(r as ResourceType<never>);
    return {
      on: on as ListWatchLike<T>['on'],
      start: async () => {
        for (const o of this.objects(r)) listener('add', o);
        let set = this.#listeners.get(id);
        if (!set) this.#listeners.set(id, (set = new Set()));
        set.add(listener);
      },
      stop: async () => { this.#listeners.get(id)?.delete(listener); },
      get: (name, namespace) => cache.get(refKey(namespace, name)),
      list: (namespace) => [...cache.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace),
    };
  };
}
