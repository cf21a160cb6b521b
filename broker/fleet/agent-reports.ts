// Each agent's last lease report, kept in memory and written to the store only when its
// content changes: a heartbeat every few seconds per cluster must not become a disk write
// every few seconds per cluster.
import type { LeaseReport } from '../api/fleet.ts';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/store.ts';

export interface AgentReport {
  readonly report: LeaseReport;
  readonly reportedAt: Date;
}

export class AgentReports {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #reports = new Map<string, AgentReport & { readonly json: string }>();

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    for (const row of deps.store.reports.all()) {
      this.#reports.set(row.cluster, { report: JSON.parse(row.report) as LeaseReport, reportedAt: row.reportedAt, json: row.report });
    }
  }

  record(cluster: string, report: LeaseReport): void {
    const json = JSON.stringify(report);
    const reportedAt = this.#clock.now();
    if (this.#reports.get(cluster)?.json !== json) this.#store.reports.put({ cluster, report: json, reportedAt });
    this.#reports.set(cluster, { report, reportedAt, json });
  }

  get(cluster: string): AgentReport | undefined {
    const r = this.#reports.get(cluster);
    return r && { report: r.report, reportedAt: r.reportedAt };
  }
}
