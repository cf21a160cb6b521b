// The catalog's persistent state, as catalog/ needs it: the export table, the event log
// and the revision counter, plus the last known availability of each cluster. Every
// change is one CatalogCommit, applied in one transaction, so the revision, the exports
// and the events it produced can never disagree after a crash.

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

/** A cluster's advertisement (JSON of ClusterAdvertisement), stored since migration 3. */
export interface StoredAdvertisement {
  readonly cluster: string;
  readonly body: string;
  readonly revision: number;
}

export interface CatalogCommit {
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
  load(): CatalogState;
  /** Applies the commit in one durable transaction, or nothing at all. */
  commit(c: CatalogCommit): void;
}
