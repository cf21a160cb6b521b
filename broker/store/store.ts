// The broker's whole durable state, as main.ts composes it: the union of the interfaces
// its consumers declare (enroll/, catalog/, rbac/, users/, ca/, fleet/). Each consumer
// receives only its own narrow interface; nothing outside broker/store/ imports this file
// or knows how the state is kept. Every method is asynchronous, and every change that must
// be atomic is one method (one transaction, a compare-and-set where two replicas could
// race), so a replicated backend can implement the same contract.
import type { AgentReportStore } from '../fleet/agent-report-store.ts';
import type { CaStore } from '../ca/ca-store.ts';
import type { CatalogStore } from '../catalog/catalog-store.ts';
import type { CertificateStore, ClusterStore, TokenStore } from '../enroll/enroll-store.ts';
import type { RbacStore } from '../rbac/rbac-store.ts';
import type { UserStore } from '../users/user-store.ts';

export interface Store extends TokenStore, ClusterStore, CertificateStore {
  /** The clusterset (trust domain) this store belongs to, fixed at init. */
  readonly clusterset: string;
  /** The service catalog: exports, event log, revision, leases, advertisements. */
  readonly catalog: CatalogStore;
  /** The RBAC baseline: revisions, cluster labels, agents' status reports. */
  readonly rbac: RbacStore;
  /** Shared identities of people. */
  readonly users: UserStore;
  /** CA rollover: roots, phase, history, trust-bundle acknowledgements. */
  readonly ca: CaStore;
  /** Agents' last lease reports. */
  readonly reports: AgentReportStore;
  close(): Promise<void>;
}
