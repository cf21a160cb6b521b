// The catalog's persistent state, as catalog/ needs it (declared here by its consumer;
// broker/store/ implements it): the exports, the event log and the revision counter, the
// last known availability of each cluster and their advertisements. Every change is one
// CatalogCommit, applied atomically and only on the head revision it was planned on, so
// the revision, the exports and the events it produced can never disagree after a crash,
// and two writers can never both append the same revision.

export interface StoredExport {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  /** JSON of the validated ExportSpec. */
  readonly spec: string;
  /** Revision of the event that wrote it. */
  readonly revision: number;
}

export interface StoredEvent {
  readonly revision: number;
  /** JSON of the WatchEvent. */
  readonly payload: string;
}

export interface StoredLease {
  readonly cluster: string;
  readonly available: boolean;
}

/** A cluster's advertisement (JSON of ClusterAdvertisement). */
export interface StoredAdvertisement {
  readonly cluster: string;
  readonly body: string;
  readonly revision: number;
}

export interface CatalogCommit {
  /** The head revision the change was planned on: it commits only if the stored head is still this. */
  readonly after: number;
  /** The new head revision (the last event's). */
  readonly revision: number;
  readonly upserts: readonly StoredExport[];
  readonly deletes: readonly { readonly cluster: string; readonly namespace: string; readonly name: string }[];
  readonly events: readonly StoredEvent[];
  readonly leases?: readonly StoredLease[];
  readonly leaseDeletes?: readonly string[];
  readonly advertisements?: readonly StoredAdvertisement[];
  readonly advertisementDeletes?: readonly string[];
  /** Delete every event up to and including this revision. */
  readonly compactThrough: number;
}

export interface CatalogState {
  readonly revision: number;
  readonly compactedThrough: number;
  readonly exports: StoredExport[];
  /** Oldest first. */
  readonly events: StoredEvent[];
  readonly leases: StoredLease[];
  readonly advertisements?: StoredAdvertisement[];
}

export interface CatalogStore {
  load(): Promise<CatalogState>;
  /**
   * Applies the commit durably and atomically, or nothing at all: resolves true once it is
   * durable, false (nothing written) when the stored head is no longer `c.after`, and
   * rejects when the write failed.
   */
  commit(c: CatalogCommit): Promise<boolean>;
}

/** What the catalog needs beside its own state: which clusters are members. */
export interface CatalogMembers {
  readonly catalog: CatalogStore;
  listClusters(): Promise<readonly { readonly id: string; readonly state: string }[]>;
}
