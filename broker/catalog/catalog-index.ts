// The catalog's in-memory indexes: every export by key (namespace/name) and by cluster,
// and the merged service of every key. Lookups never scan: a change touches the exports
// of one key, a cluster's removal the exports of one cluster.
import type { ExportRecord, MergedService } from '../api/catalog.ts';

export type ServiceKey = string;

export function serviceKey(namespace: string, name: string): ServiceKey {
  return `${namespace}/${name}`;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class CatalogIndex {
  readonly #byKey = new Map<ServiceKey, Map<string, ExportRecord>>();
  readonly #byCluster = new Map<string, Map<ServiceKey, ExportRecord>>();
  readonly #merged = new Map<ServiceKey, MergedService>();

  get(cluster: string, key: ServiceKey): ExportRecord | undefined {
    return this.#byCluster.get(cluster)?.get(key);
  }

  /** The exports of one key, by cluster (do not mutate). */
  ofKey(key: ServiceKey): ReadonlyMap<string, ExportRecord> {
    return this.#byKey.get(key) ?? new Map();
  }

  /** The exports of one cluster, by key (do not mutate). */
  ofCluster(cluster: string): ReadonlyMap<ServiceKey, ExportRecord> {
    return this.#byCluster.get(cluster) ?? new Map();
  }

  clustersWithExports(): string[] {
    return [...this.#byCluster.keys()];
  }

  merged(key: ServiceKey): MergedService | undefined {
    return this.#merged.get(key);
  }

  put(record: ExportRecord): void {
    const key = serviceKey(record.namespace, record.name);
    let k = this.#byKey.get(key);
    if (!k) this.#byKey.set(key, (k = new Map()));
    k.set(record.cluster, record);
    let c = this.#byCluster.get(record.cluster);
    if (!c) this.#byCluster.set(record.cluster, (c = new Map()));
    c.set(key, record);
  }

  delete(cluster: string, key: ServiceKey): void {
    const k = this.#byKey.get(key);
    if (k?.delete(cluster) && k.size === 0) this.#byKey.delete(key);
    const c = this.#byCluster.get(cluster);
    if (c?.delete(key) && c.size === 0) this.#byCluster.delete(cluster);
  }

  setMerged(key: ServiceKey, service: MergedService | null): void {
    if (service) this.#merged.set(key, service);
    else this.#merged.delete(key);
  }

  keys(): ServiceKey[] {
    return [...this.#byKey.keys()];
  }

  /** Every merged service, sorted by namespace/name. */
  allMerged(): MergedService[] {
    return [...this.#merged.keys()].sort(byText).map((k) => this.#merged.get(k)!);
  }

  /** Every export, sorted by namespace/name, then cluster. */
  allExports(): ExportRecord[] {
    const out: ExportRecord[] = [];
    for (const key of [...this.#byKey.keys()].sort(byText)) {
      const m = this.#byKey.get(key)!;
      for (const cluster of [...m.keys()].sort(byText)) out.push(m.get(cluster)!);
    }
    return out;
  }
}
