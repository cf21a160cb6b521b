// What enrollment (join, renew, tokens, membership) needs from durable state, declared
// here by its consumer; broker/store/ implements it. Every method that changes more than
// one thing is one atomic, conditional operation (a compare-and-set on the token, the
// cluster's state or its membership epoch), so two broker replicas sharing one store can
// never both win: there is no read-then-write across two calls.
import type { TokenRecord } from './token-record.ts';

export type ClusterState = 'active' | 'removed';

export interface ClusterRecord {
  readonly id: string;
  readonly state: ClusterState;
  /** Membership epoch: bumped on every (re)join; only certificates of the current epoch are accepted. */
  readonly epoch: number;
  readonly joinedAt: Date;
  readonly removedAt: Date | null;
  /** The newest certificate issued in the current epoch. */
  readonly certificateSerial: string | null;
  readonly certificateNotAfter: Date | null;
  /** Admin-set labels (RBAC baseline targeting); absent when none. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface IssuedCertificate {
  readonly serial: string;
  readonly notAfter: Date;
  /** Fingerprint of the root that issued it (CA rollover tracks who is re-issued). */
  readonly issuer?: string;
}

export type JoinResult =
  | { readonly ok: true; readonly cluster: ClusterRecord }
  | { readonly ok: false; readonly reason: 'token-not-pending'; readonly token: TokenRecord | undefined }
  | { readonly ok: false; readonly reason: 'cluster-active' };

/** Outcome of adding a token: stored, or refused without writing anything. */
export type AddTokenResult = 'ok' | 'id-taken' | 'cluster-active';

export interface TokenStore {
  /**
   * Stores a new token only if no token has its id and, for a kind-"cluster" token, its
   * subject is not an active member: the check and the write are one operation.
   */
  addToken(token: TokenRecord): Promise<AddTokenResult>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revokes a token that is neither used nor revoked; returns the token as it is now. */
  revokeToken(id: string, at: Date): Promise<TokenRecord | undefined>;
}

export interface ClusterStore {
  /**
   * One atomic operation: consume the token (if still pending at `now`), make the cluster
   * active in a new membership epoch, and record the certificate issued for it.
   */
  completeJoin(o: { tokenId: string; clusterId: string; certificate: IssuedCertificate; now: Date }): Promise<JoinResult>;
  /** Records a renewed certificate if the cluster is still active in `epoch`; else undefined. */
  recordRenewal(o: { clusterId: string; epoch: number; certificate: IssuedCertificate; now: Date }): Promise<ClusterRecord | undefined>;
  getCluster(id: string): Promise<ClusterRecord | undefined>;
  listClusters(): Promise<ClusterRecord[]>;
  /** Marks the cluster removed (idempotent) and revokes its pending tokens, atomically; undefined if unknown. */
  removeCluster(id: string, at: Date): Promise<ClusterRecord | undefined>;
}

/** What authentication asks about a presented cluster certificate. */
export interface CertificateStore {
  /** True only for a certificate issued to this cluster in its current epoch while it is active. */
  isCurrentCertificate(clusterId: string, serial: string): Promise<boolean>;
  /** Current (as above) and the one issued last to the cluster: the only one renewable after expiry. */
  isLatestCertificate(clusterId: string, serial: string): Promise<boolean>;
  /** Records that a cluster certificate was used (the first time only; later calls change nothing). */
  markCertificatePresented(serial: string, at: Date): Promise<void>;
  /** True when a certificate of the same cluster membership issued after this one has been used. */
  isSupersededInUse(serial: string): Promise<boolean>;
}

/** Join and renewal: tokens, membership, the clusterset certificates are issued in. */
export interface EnrollStore extends Pick<TokenStore, 'getToken'>, Pick<ClusterStore, 'getCluster' | 'completeJoin' | 'recordRenewal'> {}
