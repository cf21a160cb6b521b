// AgentReportStore on etcd: one key per cluster (last writer wins, as in sqlite: a report
// replaces the previous one and depends on nothing else).
import type { EtcdClient } from '../etcd/etcd-client.ts';
import type { AgentReportStore, StoredAgentReport } from '../fleet/agent-report-store.ts';
import { json, parseValue, statusSchema, type EtcdKeys } from './etcd-records.ts';

export class EtcdAgentReportStore implements AgentReportStore {
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;

  constructor(client: EtcdClient, keys: EtcdKeys) {
    this.#c = client;
    this.#k = keys;
  }

  async put(r: StoredAgentReport): Promise<void> {
    await this.#c.put(this.#k.report(r.cluster), json({ cluster: r.cluster, report: r.report, reportedAt: r.reportedAt.getTime() }));
  }

  async all(): Promise<StoredAgentReport[]> {
    const { kvs } = await this.#c.range(this.#k.reports);
    return kvs.map((kv) => parseValue(statusSchema, kv)).map((r) => ({ cluster: r.cluster, report: r.report, reportedAt: new Date(r.reportedAt) }));
  }

  async delete(cluster: string): Promise<void> {
    await this.#c.delete(this.#k.report(cluster));
  }
}
