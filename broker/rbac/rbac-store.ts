// The RBAC baseline's persistent state, as broker/rbac/ needs it: the revisions of the
// baseline (append-only), the admin-set cluster labels that target it, and each agent's
// last status report. Declared here by its consumer; broker/store/ implements it.

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
  current(): Promise<StoredBaseline | undefined>;
  /**
   * Appends a revision only if its number is one past the newest (compare-and-set on the
   * head); false, writing nothing, when another writer appended that revision first.
   */
  insert(b: StoredBaseline): Promise<boolean>;
  labels(cluster: string): Promise<Record<string, string>>;
  allLabels(): Promise<Map<string, Record<string, string>>>;
  /** Sets and removes labels of one known cluster atomically; false (nothing written) for an unknown cluster. */
  updateLabels(cluster: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<boolean>;
  putStatus(s: StoredRbacStatus): Promise<void>;
  statuses(): Promise<StoredRbacStatus[]>;
}
