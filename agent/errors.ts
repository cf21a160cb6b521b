// The agent's error catalogue. Broker-side failures keep the broker's own code in
// `brokerCode` so callers can branch on it (for example token expired vs. used).
import type { BrokerErrorCode } from '../broker/api/errors.ts';

export type AgentErrorCode =
  | 'PLX_AGENT_BAD_ARGUMENT'
  | 'PLX_AGENT_BROKER_UNREACHABLE'
  | 'PLX_AGENT_BROKER_REJECTED'
  | 'PLX_AGENT_BROKER_PROTOCOL'
  | 'PLX_AGENT_CA_PIN_MISMATCH'
  /** A trust bundle from the broker shares no root with the one trusted now (no trust jump), or is malformed. */
  | 'PLX_AGENT_TRUST_BUNDLE_REJECTED'
  | 'PLX_AGENT_IDENTITY_MISMATCH'
  | 'PLX_AGENT_IDENTITY_STORE'
  /** The broker refuses to renew: the certificate expired beyond its grace. Re-join. */
  | 'PLX_AGENT_IDENTITY_EXPIRED'
  /** The broker refuses to renew: the cluster was removed. Re-join. */
  | 'PLX_AGENT_IDENTITY_REVOKED'
  /** The broker refuses to renew: a later renewal superseded this certificate (a lost answer, or a copy elsewhere). Re-join. */
  | 'PLX_AGENT_IDENTITY_SUPERSEDED'
  | 'PLX_AGENT_ALREADY_JOINED'
  | 'PLX_AGENT_KUBE'
  /** The identity Secret's namespace does not exist and these credentials may not create it. */
  | 'PLX_AGENT_NAMESPACE_MISSING'
  | 'PLX_AGENT_NOT_JOINED'
  | 'PLX_AGENT_INFORMER_UNDECLARED'
  | 'PLX_AGENT_CLUSTER_ID_IMMUTABLE'
  | 'PLX_AGENT_CLUSTERSET_MISMATCH'
  | 'PLX_AGENT_EXPORT_INVALID'
  | 'PLX_AGENT_BROKER_WATCH_STALLED'
  | 'PLX_AGENT_STOPPED'
  | 'PLX_AGENT_PROBE_FAILED'
  | 'PLX_AGENT_PROBE_IDENTITY'
  | 'PLX_AGENT_PROBE_TIMEOUT'
  /** The probe endpoint refused a client that is not a cluster of this clusterset (403). */
  | 'PLX_AGENT_PROBE_FORBIDDEN'
  /** The probe endpoint refused a cluster that is not a member now: removed (its certificate may still be valid), or not known yet (403). */
  | 'PLX_AGENT_PROBE_PEER_REMOVED'
  /** A lease renewal did not settle within the heartbeat interval; the heartbeat gave up on it and goes on. */
  | 'PLX_AGENT_LEASE_TIMEOUT'
  /** A part of the agent did not stop within its stop deadline; the others were stopped without it (lifecycle.ts). */
  | 'PLX_AGENT_STOP_TIMEOUT'
  | 'PLX_AGENT_CATALOG_NOT_SYNCED'
  /** The broker relayed a service, export or endpoint address the export guard forbids; it was not imported (a log code, never thrown). */
  | 'PLX_AGENT_IMPORT_REFUSED';

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly brokerCode: BrokerErrorCode | undefined;
  readonly status: number | undefined;
  /** A Kubernetes API failure's Status reason (e.g. Forbidden, NotFound), for callers that branch on it. */
  readonly reason: string | undefined;

  constructor(code: AgentErrorCode, message: string, options: { cause?: unknown; brokerCode?: BrokerErrorCode; status?: number; reason?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.brokerCode = options.brokerCode;
    this.status = options.status;
    this.reason = options.reason;
  }
}
