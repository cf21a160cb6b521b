// Each agent's last lease report (broker/api/fleet.ts LeaseReport), stored since
// migration 7 so `plexus status` still knows a cluster's version after a broker restart.

export interface StoredAgentReport {
  readonly cluster: string;
  /** JSON of the validated LeaseReport. */
  readonly report: string;
  readonly reportedAt: Date;
}

export interface AgentReportStore {
  put(r: StoredAgentReport): void;
  all(): StoredAgentReport[];
  delete(cluster: string): void;
}
