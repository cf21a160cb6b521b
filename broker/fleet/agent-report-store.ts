// Each agent's last lease report (broker/api/fleet.ts LeaseReport), kept durably so `plexus status` still knows a cluster's version after a broker restart.

export interface StoredAgentReport {
  readonly cluster: string;
  /** JSON of the validated LeaseReport. */
  readonly report: string;
  readonly reportedAt: Date;
}

export interface AgentReportStore {
  put(r: StoredAgentReport): Promise<void>;
  all(): Promise<StoredAgentReport[]>;
  delete(cluster: string): Promise<void>;
}
