// CA rollover state, as broker/ca/ needs it (migration 6): the roots and where their keys
// live, the one-row rollover state, its history, and what each cluster trusts and holds.
import type { CaPhase } from '../api/ca.ts';

export interface CaRootRecord {
  readonly generation: number;
  readonly fingerprint: string;
  readonly certPem: string;
  /** Key file path relative to the data directory; '' once the key was destroyed. */
  readonly keyFile: string;
  readonly createdAt: Date;
  readonly inBundle: boolean;
  /** The root has been the issuing root at some point. */
  readonly issued: boolean;
}

export interface CaRolloverRecord {
  readonly phase: CaPhase;
  readonly issuing: number;
  readonly old: number | null;
  readonly new: number | null;
  /** When the issuing root last changed (bounds the life of person certificates from the previous one). */
  readonly issuingSince: Date;
}

export interface CaHistoryRecord {
  readonly at: Date;
  readonly action: 'advance' | 'rollback';
  readonly from: CaPhase;
  readonly to: CaPhase;
  readonly forced: boolean;
  readonly detail: string;
}

export interface ClusterTrustRecord {
  readonly cluster: string;
  /** Fingerprints of the roots the cluster last said it trusts ([] before its first ack). */
  readonly ackedFingerprints: readonly string[];
  /** When the cluster first acknowledged the set it holds now (repeats of the same set change nothing). */
  readonly ackedAt: Date | null;
  /** Root fingerprint that issued the newest certificate of the current epoch. */
  readonly issuer: string | null;
}

export interface CaCommit {
  readonly rollover: Omit<CaRolloverRecord, 'issuingSince'>;
  /** Generations in the bundle after the step. */
  readonly bundle: readonly number[];
  readonly addRoot?: Omit<CaRootRecord, 'inBundle' | 'issued'>;
  /** A root dropped for good (the new root when phase 1 is rolled back). */
  readonly dropRoot?: number;
  /** Keys destroyed with this step (roots that can no longer come back). */
  readonly destroyKeysOf?: readonly number[];
  readonly history: CaHistoryRecord;
}

export interface CaStore {
  roots(): CaRootRecord[];
  rollover(): CaRolloverRecord | undefined;
  /** First start on migration 6: the data dir's root becomes generation 1 and the issuer of every certificate naming none. */
  seed(root: Omit<CaRootRecord, 'generation' | 'inBundle' | 'issued'>, now: Date): void;
  /** One step of the rollover, in one transaction. */
  commit(step: CaCommit, now: Date): void;
  history(limit: number): CaHistoryRecord[];
  /** Records the roots a cluster trusts; the same set again (in any order) is a no-op. */
  recordAck(cluster: string, fingerprints: readonly string[], at: Date): void;
  /** Every active cluster, by ID. */
  clusterTrust(): ClusterTrustRecord[];
}
