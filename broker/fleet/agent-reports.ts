// Each agent's last lease report, kept in memory and written to the store only when its
// content changes: a heartbeat every few seconds per cluster must not become a disk write
// every few seconds per cluster.
import type { LeaseReport } from '../api/fleet.ts';
import type { Clock } from '../clock.ts';
import type { AgentReportStore } from './agent-report-store.ts';

export interface AgentReport {
  readonly report: LeaseReport;
  readonly reportedAt: Date;
}

export class AgentReports {
  readonly #store: { readonly reports: AgentReportStore };
  readonly #clock: Clock;
  readonly #reports = new Map<string, AgentReport & { readonly json: string }>();

  /** Reads the stored reports once; afterwards memory answers and only changes are written. */
  static async open(deps: { store: { readonly reports: AgentReportStore }; clock: Clock }): Promise<AgentReports> {
    const reports = new AgentReports(deps);
    for (const row of await deps.store.reports.all()) {
      reports.#reports.set(row.cluster, { report: JSON.parse(row.report) as LeaseReport, reportedAt: row.reportedAt, json: row.report });
    }
    return reports;
  }

  private constructor(deps: { store: { readonly reports: AgentReportStore }; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  async record(cluster: string, report: LeaseReport): Promise<void> {
    const json = JSON.stringify(report);
    const reportedAt = this.#clock.now();
    if (this.#reports.get(cluster)?.json !== json) await this.#store.reports.put({ cluster, report: json, reportedAt });
    this.#reports.set(cluster, { report, reportedAt, json });
  }

  get(cluster: string): AgentReport | undefined {
    const r = this.#reports.get(cluster);
    return r && { report: r.report, reportedAt: r.reportedAt };
  }
}
