// CatalogStore on etcd. The head revision is catalog/head (a decimal string, only ever
// growing) and every commit is ONE txn whose first compare is `value(head) == after`, so
// two replicas planning on the same head cannot both append. To keep a commit inside
// etcd's per-txn operation limit (--max-txn-ops, 128 by default) whatever number of
// exports it changes, the values are grouped: one key per cluster holding all that
// cluster's exports (catalog/exports/<cluster>), one key per commit holding its events
// (catalog/events/<commit revision>); so a commit is ~1 op per cluster it touches plus a
// few (README.md: "The etcd backend").
import type { Compare, EtcdClient, TxnOp } from '../etcd/etcd-client.ts';
import type {
  CatalogCommit, CatalogState, CatalogStore, StoredAdvertisement, StoredEvent, StoredExport, StoredLease,
} from '../catalog/catalog-store.ts';
import { cas, put, unchanged } from './etcd-cas.ts';
import {
  adSchema, catalogHeadSchema, eventBatchSchema, exportDocSchema, json, leaseSchema, pad, parseValue, type EtcdKeys,
} from './etcd-records.ts';
import type { z } from 'zod';

type ExportDoc = z.output<typeof exportDocSchema>;
const exportId = (namespace: string, name: string): string => `${namespace}/${name}`;

export class EtcdCatalogStore implements CatalogStore {
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;

  constructor(client: EtcdClient, keys: EtcdKeys) {
    this.#c = client;
    this.#k = keys;
  }

  async load(): Promise<CatalogState> {
    const k = this.#k;
    const { kvs } = await this.#c.range(`${k.prefix}catalog/`);   // one snapshot: every page at one revision
    let revision = 0;
    let compactedThrough = 0;
    const exports: StoredExport[] = [];
    const events: StoredEvent[] = [];
    const leases: StoredLease[] = [];
    const advertisements: StoredAdvertisement[] = [];
    for (const kv of kvs) {
      if (kv.key === k.catalogHead) revision = parseValue(catalogHeadSchema, kv);
      else if (kv.key === k.catalogCompacted) compactedThrough = parseValue(catalogHeadSchema, kv);
      else if (kv.key.startsWith(k.catalogExports)) {
        const cluster = kv.key.slice(k.catalogExports.length);
        for (const e of Object.values(parseValue(exportDocSchema, kv))) exports.push({ cluster, ...e });
      } else if (kv.key.startsWith(k.catalogEvents)) events.push(...parseValue(eventBatchSchema, kv));
      else if (kv.key.startsWith(k.catalogLeases)) leases.push({ cluster: kv.key.slice(k.catalogLeases.length), ...parseValue(leaseSchema, kv) });
      else if (kv.key.startsWith(k.catalogAds)) advertisements.push({ cluster: kv.key.slice(k.catalogAds.length), ...parseValue(adSchema, kv) });
    }
    return {
      revision, compactedThrough, exports,
      events: events.filter((e) => e.revision > compactedThrough).sort((a, b) => a.revision - b.revision),
      leases, advertisements,
    };
  }

  async commit(c: CatalogCommit): Promise<boolean> {
    const k = this.#k;
    return cas<boolean>(this.#c, 'catalog commit', async () => {
      const head = await this.#c.get(k.catalogHead);
      if ((head.kv ? parseValue(catalogHeadSchema, head.kv) : 0) !== c.after) return { done: false };
      const compare: Compare[] = [
        head.kv ? { key: k.catalogHead, target: 'value', value: String(c.after) } : unchanged(k.catalogHead, undefined),
      ];
      const ops: TxnOp[] = [];

      const clusters = new Set([...c.upserts.map((u) => u.cluster), ...c.deletes.map((d) => d.cluster)]);
      for (const cluster of clusters) {
        const { kv } = await this.#c.get(k.catalogExportDoc(cluster));
        compare.push(unchanged(k.catalogExportDoc(cluster), kv));
        const doc: ExportDoc = kv ? { ...parseValue(exportDocSchema, kv) } : {};
        for (const d of c.deletes) if (d.cluster === cluster) delete doc[exportId(d.namespace, d.name)];
        for (const u of c.upserts) if (u.cluster === cluster) doc[exportId(u.namespace, u.name)] = { namespace: u.namespace, name: u.name, spec: u.spec, revision: u.revision };
        ops.push(Object.keys(doc).length ? put(k.catalogExportDoc(cluster), json(doc)) : { delete: { key: k.catalogExportDoc(cluster) } });
      }

      const compacted = await this.#c.get(k.catalogCompacted);
      const compactedThrough = compacted.kv ? parseValue(catalogHeadSchema, compacted.kv) : 0;
      const compact = c.compactThrough > compactedThrough;
      // A batch is keyed by its commit's revision, so [events/, events/<through+1>) holds exactly
      // the batches whose events are all compacted; a batch compacted as it is written is not written.
      if (c.events.length && !(compact && c.compactThrough >= c.revision)) {
        ops.push(put(k.catalogEventBatch(c.revision), json(c.events.map((e) => ({ revision: e.revision, payload: e.payload })))));
      }
      if (compact) {
        compare.push(unchanged(k.catalogCompacted, compacted.kv));
        ops.push({ delete: { key: k.catalogEvents, end: `${k.catalogEvents}${pad(c.compactThrough + 1)}` } });
        ops.push(put(k.catalogCompacted, String(c.compactThrough)));
      }

      // As in sqlite, a delete in the same commit wins over an upsert of the same cluster.
      const leases = new Map<string, string | null>((c.leases ?? []).map((l) => [l.cluster, json({ available: l.available })]));
      for (const id of c.leaseDeletes ?? []) leases.set(id, null);
      for (const [id, v] of leases) ops.push(v === null ? { delete: { key: k.catalogLease(id) } } : put(k.catalogLease(id), v));
      const ads = new Map<string, string | null>((c.advertisements ?? []).map((a) => [a.cluster, json({ body: a.body, revision: a.revision })]));
      for (const id of c.advertisementDeletes ?? []) ads.set(id, null);
      for (const [id, v] of ads) ops.push(v === null ? { delete: { key: k.catalogAd(id) } } : put(k.catalogAd(id), v));

      ops.push(put(k.catalogHead, String(c.revision)));
      return { compare, ops, result: true };
    });
  }
}
