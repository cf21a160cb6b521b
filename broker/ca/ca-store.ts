// CA rollover state, as broker/ca/ needs it: the roots and where their keys live, the
// rollover state (one record), its history, and what each cluster trusts and holds.
// Declared by its consumer (ca-rotation.ts); broker/store/ implements it.
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
  /** The rollover state the step was planned on: the step commits only if it is still this (compare-and-set). */
  readonly expected: Omit<CaRolloverRecord, 'issuingSince'>;
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
  roots(): Promise<CaRootRecord[]>;
  rollover(): Promise<CaRolloverRecord | undefined>;
  /**
   * First start: the data dir's root becomes generation 1 and the issuer of every
   * certificate naming none. Only if no rollover state exists yet (create-if-absent), so
   * of two replicas starting at once one seeds and the other changes nothing.
   */
  seed(root: Omit<CaRootRecord, 'generation' | 'inBundle' | 'issued'>, now: Date): Promise<void>;
  /**
   * One step of the rollover, atomically, only if the rollover state is still
   * `step.expected`; false (nothing written) when another writer moved it meanwhile.
   */
  commit(step: CaCommit, now: Date): Promise<boolean>;
  history(limit: number): Promise<CaHistoryRecord[]>;
  /** Records the roots a cluster trusts; the same set again (in any order) is a no-op. */
  recordAck(cluster: string, fingerprints: readonly string[], at: Date): Promise<void>;
  /** Every active cluster, by ID. */
  clusterTrust(): Promise<ClusterTrustRecord[]>;
}
