// The agent's error catalogue (every PLX_AGENT_* code, with meaning and remedy). Broker-side failures keep the broker's own code in
// `brokerCode` so callers can branch on it (for example token expired vs. used).
import type { BrokerErrorCode } from '../broker/api/errors.ts';

/** One entry of an error catalogue: what the code means and what the reader should do. */
export interface ErrorCodeEntry {
  readonly meaning: string;
  readonly remedy: string;
  /** The HTTP status a server answers with, where the code is sent over HTTP. */
  readonly status?: number;
}

/**
 * Every PLX_AGENT_* code, with its meaning and remedy. docs/errors.md is generated from
 * this (`npm run docs:errors`); a code used anywhere in agent/ must be here.
 */
export const AGENT_ERRORS = {
  PLX_AGENT_BAD_ARGUMENT: {
    meaning: 'A flag, a configuration value or an argument of the agent is invalid; the message names each problem.',
    remedy: 'Correct the named flag or value and run the command again.',
  },
  PLX_AGENT_BROKER_UNREACHABLE: {
    meaning: 'The broker did not answer: connection refused, DNS failure, TLS handshake failure or timeout.',
    remedy: 'Check the broker URL, that the broker runs (`plexus broker start`) and that this cluster can reach it; the agent retries with backoff.',
  },
  PLX_AGENT_BROKER_REJECTED: {
    meaning: 'The broker answered with an error; `brokerCode` carries the broker\'s own PLX_BROKER_* code.',
    remedy: 'Read the broker code in the message and follow its remedy (see the PLX_BROKER_* entries).',
  },
  PLX_AGENT_BROKER_PROTOCOL: {
    meaning: 'The broker\'s answer did not match the wire contract (broker/api/), or a certificate it returned does not verify.',
    remedy: 'Run agent and broker of the same Plexus version; if they match, report it as a bug.',
  },
  PLX_AGENT_CA_PIN_MISMATCH: {
    meaning: 'The broker\'s trust bundle does not contain the root whose fingerprint was pinned with --ca-fingerprint.',
    remedy: 'Take the fingerprint printed by `plexus broker token create` for this broker; a mismatch can mean a different broker or an interception.',
  },
  PLX_AGENT_TRUST_BUNDLE_REJECTED: {
    meaning: 'A trust bundle from the broker shares no root with the one trusted now (no trust jump), or is malformed.',
    remedy: 'Keep the current bundle; if the clusterset\'s root really changed without a rollover, join the cluster again.',
  },
  PLX_AGENT_TRUST_BUNDLE_CLASH: {
    meaning: 'A ConfigMap without the Plexus ownership label already has the trust bundle\'s name; it is left alone (a Warning Event and a log line, never thrown).',
    remedy: 'Delete or rename that ConfigMap to receive the clusterset trust bundle in its namespace.',
  },
  PLX_AGENT_IDENTITY_MISMATCH: {
    meaning: 'The broker issued or renewed an identity other than the one this cluster asked for.',
    remedy: 'Check that the agent talks to its own clusterset\'s broker; report it if it does.',
  },
  PLX_AGENT_IDENTITY_STORE: {
    meaning: 'The stored identity (file or Secret) cannot be read, parsed or written.',
    remedy: 'Check the data directory or the Secret named in the message; if it is damaged, join again with --force.',
  },
  PLX_AGENT_IDENTITY_EXPIRED: {
    meaning: 'The broker refuses to renew: the certificate expired beyond its grace.',
    remedy: 'Create a new token and run `plexus agent join` again.',
  },
  PLX_AGENT_IDENTITY_REVOKED: {
    meaning: 'The broker refuses to renew: the cluster was removed.',
    remedy: 'Create a new token and run `plexus agent join` again if the cluster should be a member.',
  },
  PLX_AGENT_IDENTITY_SUPERSEDED: {
    meaning: 'The broker refuses to renew: a later renewal superseded this certificate (a lost answer, or a copy of the identity elsewhere).',
    remedy: 'Make sure only one agent uses this identity, then join again.',
  },
  PLX_AGENT_ALREADY_JOINED: {
    meaning: 'The identity store already holds the identity of a cluster.',
    remedy: 'Pass --force to replace it, or use `plexus agent leave` first.',
  },
  PLX_AGENT_KUBE: {
    meaning: 'A Kubernetes API call failed; the message names the object, the API server\'s message and reason.',
    remedy: 'Follow the API server\'s reason (Forbidden: grant the permission; NotFound: create the object or the CRDs).',
  },
  PLX_AGENT_NAMESPACE_MISSING: {
    meaning: 'The identity Secret\'s namespace does not exist and these credentials may not create it.',
    remedy: 'Create the namespace (`kubectl create namespace plexus-system`) or pass --namespace; the token stays unused.',
  },
  PLX_AGENT_NOT_JOINED: {
    meaning: 'No identity is stored: the cluster has not joined a clusterset.',
    remedy: 'Run `plexus agent join` first.',
  },
  PLX_AGENT_INFORMER_UNDECLARED: {
    meaning: 'A component asked for an informer it did not declare (a wiring bug, found at start).',
    remedy: 'Add the resource to the component\'s declare() list.',
  },
  PLX_AGENT_CLUSTER_ID_IMMUTABLE: {
    meaning: 'The ClusterProperty cluster.clusterset.k8s.io already names another cluster ID; the MCS API forbids changing it.',
    remedy: 'Delete the ClusterProperty only if the cluster really left its clusterset, or join with the ID it names.',
  },
  PLX_AGENT_CLUSTERSET_MISMATCH: {
    meaning: 'The ClusterProperty clusterset.k8s.io names another clusterset.',
    remedy: 'Run `plexus agent leave` in the other clusterset first, or delete the stale ClusterProperty.',
  },
  PLX_AGENT_EXPORT_INVALID: {
    meaning: 'A ServiceExport cannot be exported as written.',
    remedy: 'Read the ServiceExport\'s Valid condition and fix the Service or its annotations.',
  },
  PLX_AGENT_BROKER_WATCH_STALLED: {
    meaning: 'The catalog watch saw no event and no bookmark for the idle timeout; it is treated as dead and resumed.',
    remedy: 'None if it resumes; if it repeats, check the network path to the broker (proxies that buffer streams).',
  },
  PLX_AGENT_STOPPED: {
    meaning: 'An operation was cut short because the agent is stopping.',
    remedy: 'None: it is the normal end of a run.',
  },
  PLX_AGENT_PROBE_FAILED: {
    meaning: 'A probe of another cluster answered with a status other than 200, or the connection failed.',
    remedy: 'Check that the peer\'s probe endpoint (its advertised probe URL) is reachable from this cluster.',
  },
  PLX_AGENT_PROBE_IDENTITY: {
    meaning: 'The probed endpoint presented a certificate of another identity than the cluster it advertises.',
    remedy: 'Check the peer\'s --probe-url: it must reach that cluster\'s agent, not another one.',
  },
  PLX_AGENT_PROBE_TIMEOUT: {
    meaning: 'A probe got no answer within the probe timeout.',
    remedy: 'Check the path to the peer; raise probeTimeoutMs if the link is slow.',
  },
  PLX_AGENT_PROBE_FORBIDDEN: {
    meaning: 'The probe endpoint refused a client that is not a cluster of this clusterset.',
    remedy: 'Only agents of the clusterset may probe; use a cluster identity of this clusterset.',
    status: 403,
  },
  PLX_AGENT_PROBE_PEER_REMOVED: {
    meaning: 'The probe endpoint refused a cluster that is not a member now: removed (its certificate may still be valid), or not known yet.',
    remedy: 'None for a removed cluster; a new member is accepted once this agent has seen it on the catalog watch.',
    status: 403,
  },
  PLX_AGENT_LEASE_TIMEOUT: {
    meaning: 'A lease renewal did not settle within the heartbeat interval; the heartbeat gave up on it and goes on.',
    remedy: 'None if the next heartbeat succeeds; if it repeats, check the broker\'s load and the network.',
  },
  PLX_AGENT_STOP_TIMEOUT: {
    meaning: 'A part of the agent did not stop within its stop deadline; the others were stopped without it.',
    remedy: 'Report it with the log line that names the part.',
  },
  PLX_AGENT_CATALOG_NOT_SYNCED: {
    meaning: 'An import was reconciled before the broker catalog was synced; it is retried.',
    remedy: 'None: imports follow once the catalog watch has its first snapshot.',
  },
  PLX_AGENT_IMPORT_REFUSED: {
    meaning: 'The broker relayed a service, export or endpoint address the export guard forbids; it was not imported (a log code, never thrown).',
    remedy: 'Fix the exporting cluster\'s Service; check the broker\'s --protected-namespaces.',
  },
  PLX_AGENT_PROXY_UNAUTHENTICATED: {
    meaning: 'A request to the access proxy came without a client certificate.',
    remedy: 'Run `plexus login` and use the kubeconfig from `plexus kubeconfig`.',
    status: 401,
  },
  PLX_AGENT_PROXY_CERT_UNTRUSTED: {
    meaning: 'The client certificate is not issued by this clusterset.',
    remedy: 'Log in to this clusterset\'s broker (`plexus login`).',
    status: 401,
  },
  PLX_AGENT_PROXY_CERT_EXPIRED: {
    meaning: 'The client certificate is not valid now.',
    remedy: 'Run `plexus login --renew`.',
    status: 401,
  },
  PLX_AGENT_PROXY_USER_REVOKED: {
    meaning: 'The user was revoked by the broker.',
    remedy: 'Ask an admin for a new invitation if access should be restored.',
    status: 401,
  },
  PLX_AGENT_PROXY_NOT_A_USER: {
    meaning: 'The certificate names a cluster or admin, not a person: the access proxy serves people.',
    remedy: 'Use a user identity (spiffe://<clusterset>/user/<name>) from `plexus login`.',
    status: 403,
  },
  PLX_AGENT_PROXY_IMPERSONATION_REFUSED: {
    meaning: 'The request carried impersonation headers the proxy may not pass on.',
    remedy: 'Drop --as/--as-group; the proxy impersonates the certificate\'s user itself.',
    status: 403,
  },
  PLX_AGENT_PROXY_NOT_READY: {
    meaning: 'The proxy has not received the revocation list from the broker yet.',
    remedy: 'Retry in a moment; if it lasts, check the agent\'s connection to the broker.',
    status: 503,
  },
  PLX_AGENT_PROXY_REVOCATIONS_STALE: {
    meaning: 'The revocation list is older than revocationMaxStalenessMs: the proxy refuses rather than serve a revoked user.',
    remedy: 'Restore the agent\'s connection to the broker.',
    status: 503,
  },
  PLX_AGENT_PROXY_UPSTREAM: {
    meaning: 'The proxy could not reach or read the cluster\'s API server.',
    remedy: 'Check the API server and the agent\'s kubeconfig.',
    status: 502,
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type AnyAgentErrorCode = keyof typeof AGENT_ERRORS;
/** Codes an AgentError carries; the access proxy's refusals are ProxyErrors (proxy/proxy-error.ts). */
export type AgentErrorCode = Exclude<AnyAgentErrorCode, `PLX_AGENT_PROXY_${string}`>;

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
