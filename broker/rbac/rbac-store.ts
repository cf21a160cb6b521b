// The RBAC baseline's persistent state, as broker/rbac/ needs it: the revisions of the
// baseline (append-only), the admin-set cluster labels that target it, and each agent's
// last status report. Nothing outside store/ sees SQL.

export interface StoredBaseline {
  readonly revision: number;
  /** Hash of the canonical document: identical content gets no new revision. */
  readonly hash: string;
  /** JSON of { target, allowKubeSystem, entries }. */
  readonly document: string;
  readonly createdAt: Date;
}

export interface StoredRbacStatus {
  readonly cluster: string;
  /** JSON of the validated RbacStatusReport. */
  readonly report: string;
  readonly reportedAt: Date;
}

export interface RbacStore {
  /** The newest revision, if any. */
  current(): StoredBaseline | undefined;
  /** Appends a revision (its number must be the next one). */
  insert(b: StoredBaseline): void;
  labels(cluster: string): Record<string, string>;
  allLabels(): Map<string, Record<string, string>>;
  /** Sets and removes labels of one cluster in one transaction. */
  updateLabels(cluster: string, set: Readonly<Record<string, string>>, remove: readonly string[]): void;
  putStatus(s: StoredRbacStatus): void;
  statuses(): StoredRbacStatus[];
}
