// AgentReportStore on the broker's sqlite connection. Table from migration 7.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { AgentReportStore, StoredAgentReport } from '../fleet/agent-report-store.ts';

export class SqliteAgentReportStore implements AgentReportStore {
  readonly #put: StatementSync;
  readonly #all: StatementSync;
  readonly #delete: StatementSync;

  constructor(db: DatabaseSync) {
    this.#put = db.prepare(`INSERT INTO agent_reports (cluster, report, reported_at) VALUES (?, ?, ?)
      ON CONFLICT (cluster) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at`);
    this.#all = db.prepare('SELECT cluster, report, reported_at FROM agent_reports ORDER BY cluster');
    this.#delete = db.prepare('DELETE FROM agent_reports WHERE cluster = ?');
  }

  async put(r: StoredAgentReport): Promise<void> {
    this.#put.run(r.cluster, r.report, r.reportedAt.getTime());
  }

  async all(): Promise<StoredAgentReport[]> {
    return this.#all.all().map((r) => ({ cluster: String(r.cluster), report: String(r.report), reportedAt: new Date(Number(r.reported_at)) }));
  }

  async delete(cluster: string): Promise<void> {
    this.#delete.run(cluster);
  }
}
