// The broker's persistent state, as its consumers (enroll/, http/) need it. The sqlite
// implementation is the only one today; a Kubernetes hub store may follow, so nothing
// outside store/ may depend on SQL.
import type { AgentReportStore } from '../fleet/agent-report-store.ts';
import type { CaStore } from '../ca/ca-store.ts';
import type { CatalogStore } from '../catalog/catalog-store.ts';
import type { RbacStore } from '../rbac/rbac-store.ts';
import type { TokenRecord } from '../enroll/token-record.ts';
import type { UserStore } from '../users/user-store.ts';

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

export interface Store {
  /** The clusterset (trust domain) this store belongs to, fixed at init. */
  readonly clusterset: string;
  /** The service catalog's tables (exports, event log, revision). */
  readonly catalog: CatalogStore;
  /** The RBAC baseline's tables (revisions, cluster labels, agent reports). */
  readonly rbac: RbacStore;
  /** Shared identities of people (migration 5). */
  readonly users: UserStore;
  /** CA rollover: roots, phase, history, trust-bundle acknowledgements (migration 6). */
  readonly ca: CaStore;
  /** Agents' last lease reports (migration 7). */
  readonly reports: AgentReportStore;

  insertToken(token: TokenRecord): void;
  getToken(id: string): TokenRecord | undefined;
  listTokens(): TokenRecord[];
  /** Revokes a token that is neither used nor revoked; returns the token as it is now. */
  revokeToken(id: string, at: Date): TokenRecord | undefined;

  /**
   * In one transaction: consume the token (if still pending at `now`), make the cluster
   * active in a new membership epoch, and record the certificate issued for it.
   */
  completeJoin(o: { tokenId: string; clusterId: string; certificate: IssuedCertificate; now: Date }): JoinResult;
  /** Records a renewed certificate if the cluster is still active in `epoch`; else undefined. */
  recordRenewal(o: { clusterId: string; epoch: number; certificate: IssuedCertificate; now: Date }): ClusterRecord | undefined;
  getCluster(id: string): ClusterRecord | undefined;
  listClusters(): ClusterRecord[];
  /** Marks the cluster removed (idempotent) and revokes its pending tokens; undefined if unknown. */
  removeCluster(id: string, at: Date): ClusterRecord | undefined;
  /** True only for a certificate issued to this cluster in its current epoch while it is active. */
  isCurrentCertificate(clusterId: string, serial: string): boolean;
  /** Current (as above) and the one issued last to the cluster: the only one renewable after expiry. */
  isLatestCertificate(clusterId: string, serial: string): boolean;
  /** Records that a cluster certificate was used (the first time only; later calls change nothing). */
  markCertificatePresented(serial: string, at: Date): void;
  /** True when a certificate of the same cluster membership issued after this one has been used. */
  isSupersededInUse(serial: string): boolean;

  close(): void;
}
