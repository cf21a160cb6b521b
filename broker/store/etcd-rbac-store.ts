// RbacStore on etcd. The newest baseline is rbac/head (its full record), every revision is
// also kept under rbac/baselines/<revision>; insert is one txn comparing the head as read
// (absent for revision 1), so two replicas appending the same revision cannot both win.
import type { EtcdClient } from '../etcd/etcd-client.ts';
import type { RbacStore, StoredBaseline, StoredRbacStatus } from '../rbac/rbac-store.ts';
import { cas, put, unchanged } from './etcd-cas.ts';
import { baselineSchema, clusterSchema, json, labelsSchema, parseValue, statusSchema, type EtcdKeys } from './etcd-records.ts';

export class EtcdRbacStore implements RbacStore {
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;

  constructor(client: EtcdClient, keys: EtcdKeys) {
    this.#c = client;
    this.#k = keys;
  }

  async current(): Promise<StoredBaseline | undefined> {
    const { kv } = await this.#c.get(this.#k.rbacHead);
    if (!kv) return undefined;
    const b = parseValue(baselineSchema, kv);
    return { ...b, createdAt: new Date(b.createdAt) };
  }

  async insert(b: StoredBaseline): Promise<boolean> {
    return cas<boolean>(this.#c, 'insert rbac baseline', async () => {
      const { kv } = await this.#c.get(this.#k.rbacHead);
      const head = kv ? parseValue(baselineSchema, kv).revision : 0;
      if (head + 1 !== b.revision) return { done: false };
      const value = json({ revision: b.revision, hash: b.hash, document: b.document, createdAt: b.createdAt.getTime() });
      return {
        compare: [unchanged(this.#k.rbacHead, kv)],
        ops: [put(this.#k.rbacHead, value), put(this.#k.rbacBaseline(b.revision), value)],
        result: true,
      };
    });
  }

  async labels(cluster: string): Promise<Record<string, string>> {
    const { kv } = await this.#c.get(this.#k.label(cluster));
    return kv ? sorted(parseValue(labelsSchema, kv)) : {};
  }

  async allLabels(): Promise<Map<string, Record<string, string>>> {
    const { kvs } = await this.#c.range(this.#k.labels);
    const out = new Map<string, Record<string, string>>();
    for (const kv of kvs) {
      const labels = parseValue(labelsSchema, kv);
      if (Object.keys(labels).length) out.set(kv.key.slice(this.#k.labels.length), sorted(labels));
    }
    return out;
  }

  async updateLabels(cluster: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<boolean> {
    return cas<boolean>(this.#c, 'update labels', async () => {
      const [cl, lb] = await Promise.all([this.#c.get(this.#k.cluster(cluster)), this.#c.get(this.#k.label(cluster))]);
      if (!cl.kv) return { done: false };
      parseValue(clusterSchema, cl.kv);
      const labels = lb.kv ? { ...parseValue(labelsSchema, lb.kv) } : {};
      for (const key of remove) delete labels[key];
      Object.assign(labels, set);
      return {
        // The cluster must still exist (version > 0) and the labels be as read.
        compare: [{ key: this.#k.cluster(cluster), target: 'version', op: '>', value: 0 }, unchanged(this.#k.label(cluster), lb.kv)],
        ops: [put(this.#k.label(cluster), json(labels))],
        result: true,
      };
    });
  }

  async putStatus(s: StoredRbacStatus): Promise<void> {
    await this.#c.put(this.#k.rbacStatus(s.cluster), json({ cluster: s.cluster, report: s.report, reportedAt: s.reportedAt.getTime() }));
  }

  async statuses(): Promise<StoredRbacStatus[]> {
    const { kvs } = await this.#c.range(this.#k.rbacStatuses);
    return kvs.map((kv) => parseValue(statusSchema, kv)).map((s) => ({ cluster: s.cluster, report: s.report, reportedAt: new Date(s.reportedAt) }));
  }
}

const sorted = (o: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
