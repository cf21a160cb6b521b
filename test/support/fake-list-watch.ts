// In-memory stand-in for client-node's ListWatch, for unit tests of informers and of
// controllers wired on an InformerRegistry: the test scripts start() outcomes and puts,
// updates and removes objects itself.
import type { ListWatchLike } from '../../agent/kube/informer.ts';
import type { KubeObject, ResourceType } from '../../agent/kube/resources.ts';

/** ListWatch stand-in: the test scripts start() outcomes and emits events itself. */
export class FakeListWatch<T extends KubeObject> implements ListWatchLike<T> {
  readonly objects = new Map<string, T>();
  readonly cbs: Record<string, ((x: never) => void)[]> = {};
  startOutcomes: ('ok' | 'error')[] = [];
  starts = 0;
  on(verb: string, cb: (x: never) => void): void {
    (this.cbs[verb] ??= []).push(cb);
  }
  async start(): Promise<void> {
    this.starts++;
    if ((this.startOutcomes.shift() ?? 'ok') === 'error') this.emit('error', new Error('connection refused'));
  }
  async stop(): Promise<void> {}
  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }
  list(): readonly T[] {
    return [...this.objects.values()];
  }
  put(obj: T, verb: 'add' | 'update' = 'add'): void {
    this.objects.set(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`, obj);
    this.emit(verb, obj);
  }
  remove(obj: T): void {
    this.objects.delete(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`);
    this.emit('delete', obj);
  }
  emit(verb: string, x: unknown): void {
    for (const cb of this.cbs[verb] ?? []) cb(x as never);
  }
}

/** A ListWatchFactory over FakeListWatches; `of(r)` returns the one made for `r`. */
export function fakeListWatches(): { factory: <T extends KubeObject>(r: ResourceType<T>) => FakeListWatch<T>; of<T extends KubeObject>(r: ResourceType<T>): FakeListWatch<T> } {
  const made = new Map<string, FakeListWatch<KubeObject>>();
  return {
    factory: <T extends KubeObject>(r: ResourceType<T>) => {
      const lw = new FakeListWatch<T>();
      made.set(`${r.apiVersion}/${r.plural}`, lw as unknown as FakeListWatch<KubeObject>);
      return lw;
    },
    of: <T extends KubeObject>(r: ResourceType<T>) => {
      const lw = made.get(`${r.apiVersion}/${r.plural}`);
      if (!lw) throw new Error(`no list/watch was made for ${r.plural}`);
      return lw as unknown as FakeListWatch<T>;
    },
  };
}
