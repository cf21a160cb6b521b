// The broker's error catalogue: every PLX_BROKER_* and PLX_RBAC_* code, with its meaning
// and remedy (docs/errors.md is generated from it: `npm run docs:errors`). Every error the
// API returns carries one of the API codes and its HTTP status; the local codes never
// cross the wire (CLI, data directory); the PLX_RBAC_* codes name each problem of a
// rejected baseline. Clients (agent/, CLI) branch on `code`, never on the message.

/** One entry of an error catalogue: what the code means and what the reader should do. */
export interface ErrorCodeEntry {
  readonly meaning: string;
  readonly remedy: string;
  /** The HTTP status the broker answers with; local codes have none. */
  readonly status?: number;
}

/** Codes the API answers with, and their HTTP status. */
export const BROKER_API_ERRORS = {
  PLX_BROKER_BAD_REQUEST: { status: 400, meaning: 'The request body is not readable JSON, or is empty where one is required.', remedy: 'Send a JSON body matching broker/api/ (the CLI does).' },
  PLX_BROKER_VALIDATION: { status: 400, meaning: 'The request (or a flag the admin client checks, such as --broker) breaks the wire contract; details list each problem.', remedy: 'Fix each field named in the message or details.' },
  PLX_BROKER_RBAC_REJECTED: { status: 422, meaning: 'An RBAC baseline broke a safety rule; details list each problem with its PLX_RBAC_* code.', remedy: 'Fix each object named in the details (see the PLX_RBAC_* entries).' },
  PLX_BROKER_BODY_TOO_LARGE: { status: 413, meaning: 'The request body exceeds the broker\'s body limit.', remedy: 'Send less (fewer exports per sync), or raise bodyLimitBytes / catalogBodyLimitBytes.' },
  PLX_BROKER_UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The request\'s content type is not application/json.', remedy: 'Send Content-Type: application/json.' },
  PLX_BROKER_BAD_CSR: { status: 400, meaning: 'The CSR is not a usable PKCS#10 request (malformed, or an unsupported key).', remedy: 'Let `plexus agent join` / `plexus login` make the CSR (P-256 or RSA-2048).' },
  PLX_BROKER_CSR_SIGNATURE: { status: 400, meaning: 'The CSR\'s signature does not verify.', remedy: 'Make a new CSR; a damaged or altered request is refused.' },
  PLX_BROKER_CSR_IDENTITY_MISMATCH: { status: 403, meaning: 'The CSR asks for another identity than the token or certificate allows.', remedy: 'Join with the cluster ID the token was created for.' },
  PLX_BROKER_TOKEN_INVALID: { status: 401, meaning: 'The join or login token is unknown or malformed.', remedy: 'Copy the token exactly as `plexus broker token create` / `broker user invite` printed it.' },
  PLX_BROKER_TOKEN_EXPIRED: { status: 401, meaning: 'The token\'s TTL has passed.', remedy: 'Create a new token.' },
  PLX_BROKER_TOKEN_USED: { status: 401, meaning: 'The one-time token was already used.', remedy: 'Create a new token.' },
  PLX_BROKER_TOKEN_REVOKED: { status: 401, meaning: 'The token was revoked (explicitly, or by removing its cluster).', remedy: 'Create a new token.' },
  PLX_BROKER_UNAUTHENTICATED: { status: 401, meaning: 'The endpoint needs a client certificate and none was sent.', remedy: 'Call it with the cluster, user or admin identity it requires.' },
  PLX_BROKER_CERT_UNTRUSTED: { status: 401, meaning: 'The client certificate does not chain to the clusterset\'s trust bundle, or names no valid identity.', remedy: 'Use a certificate issued by this broker; after a CA rollover, renew or join again.' },
  PLX_BROKER_CERT_EXPIRED: { status: 401, meaning: 'The client certificate has expired (for renewal: beyond --cluster-renew-grace, or not the newest).', remedy: 'Join again (clusters) or `plexus login` (people).' },
  PLX_BROKER_CLUSTER_REVOKED: { status: 401, meaning: 'The cluster was removed, or the certificate is from an earlier membership.', remedy: 'Create a new token and join again if the cluster should be a member.' },
  PLX_BROKER_CERT_SUPERSEDED: { status: 401, meaning: 'POST /v1/renew with a cluster certificate that a later renewal superseded: only the newest renews.', remedy: 'Make sure one agent holds the identity; join again.' },
  PLX_BROKER_USER_REVOKED: { status: 401, meaning: 'The user was revoked; revocation is final.', remedy: 'Ask an admin to invite a new name.' },
  PLX_BROKER_FORBIDDEN: { status: 403, meaning: 'The identity may not call this endpoint, or may not write this object (a cluster writes only its own exports).', remedy: 'Use the identity the route requires (broker/http/route-access.ts).' },
  PLX_BROKER_NOT_FOUND: { status: 404, meaning: 'No such route, cluster, token or user.', remedy: 'Check the name (`plexus broker cluster list`, `broker user list`).' },
  PLX_BROKER_CONFLICT: { status: 409, meaning: 'The request clashes with the current state: the cluster ID is an active member, the user name was revoked, or the CA rollover or RBAC baseline changed while the request was planned.', remedy: 'Remove the cluster first (`plexus broker cluster remove`), invite a new user name, or check the state (`plexus broker ca status`, `plexus broker rbac status`) and retry.' },
  PLX_BROKER_CA_LAGGING: { status: 409, meaning: 'CA rollover: a wait phase is not complete; details.lagging names the clusters.', remedy: 'Wait for the named clusters to acknowledge the bundle (`plexus broker ca status`), or remove them.' },
  PLX_BROKER_CA_PHASE_ORDER: { status: 409, meaning: 'CA rollover: the requested phase is not the next one (or, for rollback, not the last one done).', remedy: 'Run the phase `plexus broker ca status` names as next.' },
  PLX_BROKER_CA_ROLLBACK_REFUSED: { status: 409, meaning: 'CA rollover: this step cannot be undone safely (e.g. certificates were issued from the new root).', remedy: 'Complete the rollover instead.' },
  PLX_BROKER_EXPORT_PROTECTED_NAMESPACE: { status: 403, meaning: 'An export from a namespace the broker protects (`--protected-namespaces`).', remedy: 'Export from another namespace, or change --protected-namespaces on the broker.' },
  PLX_BROKER_EXPORT_ADDRESS_REFUSED: { status: 422, meaning: 'An export with a loopback, link-local, unspecified, multicast, broadcast or IPv4-mapped endpoint address.', remedy: 'Export Services whose endpoints have routable pod or node addresses.' },
  PLX_BROKER_NOT_READY: { status: 503, meaning: 'The broker is starting or stopping.', remedy: 'Retry shortly.' },
  PLX_BROKER_ETCD_UNAVAILABLE: { status: 503, meaning: 'No etcd member answered in time (all unreachable, refusing TLS, or without a leader); nothing was written. The replica refuses writes and reports unready until etcd answers again.', remedy: 'Retry shortly; if it lasts, check the etcd members and the network between this replica and them.' },
  PLX_BROKER_ETCD_OUTCOME_UNKNOWN: { status: 503, meaning: 'The connection to etcd failed after a write was sent; the write may or may not have been applied.', remedy: 'Retry: the broker re-reads the current state before writing again.' },
  PLX_BROKER_STORE_FAILED: { status: 503, meaning: 'The broker could not commit the change to its store; nothing was changed and nothing was acknowledged.', remedy: 'Retry; if it persists, the broker log names the cause (disk full, store unreachable).' },
  PLX_BROKER_STORE_CONFLICT: { status: 503, meaning: 'Another writer changed the same state first (another broker replica); this change was not committed.', remedy: 'Retry the request.' },
  PLX_BROKER_INTERNAL: { status: 500, meaning: 'An unexpected failure in the broker; the log has the cause.', remedy: 'Report it with the broker\'s log line.' },
} as const satisfies Record<string, ErrorCodeEntry & { status: number }>;

/** Codes that never cross the wire: the CLI and the data directory. */
export const BROKER_LOCAL_ERRORS = {
  PLX_BROKER_ALREADY_INITIALIZED: { meaning: 'The data directory already holds a clusterset.', remedy: 'Use it (`plexus broker start`), or pick an empty --data-dir.' },
  PLX_BROKER_NOT_INITIALIZED: { meaning: 'The data directory holds no broker store.', remedy: 'Run `plexus broker init` first.' },
  PLX_BROKER_DATA_DIR_NOT_EMPTY: { meaning: '`broker init` was given a directory that exists and is not empty.', remedy: 'Pick a new or empty --data-dir; init never overwrites.' },
  PLX_BROKER_CONFIG_INVALID: { meaning: 'The broker\'s configuration (flags) is invalid; every problem is listed.', remedy: 'Fix each named flag.' },
  PLX_BROKER_UNREACHABLE: { meaning: 'An admin command found no running broker, or could not connect to it.', remedy: 'Start the broker, or pass --broker URL.' },
  PLX_BROKER_BAD_RESPONSE: { meaning: 'The broker\'s answer did not match the wire contract.', remedy: 'Run CLI and broker of the same Plexus version.' },
  PLX_BROKER_LISTEN_FAILED: { meaning: 'The broker cannot listen on its address (in use, or not permitted).', remedy: 'Pick another --listen, or stop what holds the port.' },
  PLX_BROKER_ETCD_COMPACTED: { meaning: 'A watch or read asked etcd for a revision that compaction has removed.', remedy: 'Read the current state (range) and watch from its revision; the caller does this by itself.' },
  PLX_BROKER_ETCD_BAD_RESPONSE: { meaning: 'An answer from etcd did not match the v3 API\'s shape (or a watch stream broke its framing); it was not used.', remedy: 'Point the broker at etcd 3.6 members directly, not through a proxy that rewrites answers.' },
  PLX_BROKER_ETCD_REQUEST_REJECTED: { meaning: 'etcd refused a request (invalid argument, too large, permission denied…); details.grpcCode is etcd\'s status code.', remedy: 'A bug in the broker if it repeats: report it with the log line.' },
  PLX_BROKER_ETCD_LEASE_LOST: { meaning: 'The replica\'s etcd lease expired or was revoked: its election key and every key bound to the lease are gone.', remedy: 'None: the replica grants a new lease and campaigns again; another replica may lead meanwhile.' },
  PLX_BROKER_ETCD_KEY_PERMISSIONS: { meaning: 'The etcd client key file (--etcd-key) is readable by group or others; the broker refuses to use it.', remedy: 'chmod 600 the key file (or mount the Secret with defaultMode 0600).' },
  PLX_BROKER_ETCD_CONFIG_INVALID: { meaning: 'The etcd client options are invalid (no endpoint, a non-https endpoint, missing TLS material, a bad timeout); every problem is listed.', remedy: 'Fix each named option.' },
} as const satisfies Record<string, ErrorCodeEntry>;

/** Why an RBAC baseline object was rejected (details of PLX_BROKER_RBAC_REJECTED). */
export const RBAC_RULE_ERRORS = {
  PLX_RBAC_MALFORMED: { meaning: 'The object does not match its Kubernetes schema.', remedy: 'Fix the fields the message names.' },
  PLX_RBAC_UNKNOWN_KIND: { meaning: 'The object is not a ClusterRole, ClusterRoleBinding, Role, RoleBinding or Namespace.', remedy: 'Leave other kinds out of the baseline.' },
  PLX_RBAC_DUPLICATE: { meaning: 'The same object appears more than once.', remedy: 'Keep one copy.' },
  PLX_RBAC_WILDCARD_VERB: { meaning: 'A rule grants every verb ("*").', remedy: 'List the verbs.' },
  PLX_RBAC_WILDCARD_RESOURCE: { meaning: 'A rule grants every resource ("*").', remedy: 'List the resources.' },
  PLX_RBAC_ESCALATE: { meaning: 'A rule grants "escalate", which lets holders raise their own privileges.', remedy: 'Remove the verb.' },
  PLX_RBAC_BIND: { meaning: 'A rule grants "bind", which lets holders bind roles they do not have.', remedy: 'Remove the verb.' },
  PLX_RBAC_IMPERSONATE: { meaning: 'A rule grants "impersonate", which lets holders act as anyone.', remedy: 'Remove the verb; the access proxy impersonates people itself.' },
  PLX_RBAC_CLUSTER_ADMIN: { meaning: 'A binding grants cluster-admin, every verb on every resource.', remedy: 'Bind a narrower role.' },
  PLX_RBAC_BROAD_SUBJECT: { meaning: 'A binding gives an admin-like or powerful built-in role to a broad group (every identity in it would get the role).', remedy: 'Bind named users or groups.' },
  PLX_RBAC_KUBE_SYSTEM: { meaning: 'An object touches kube-system.', remedy: 'Pass --allow-kube-system if that is intended.' },
} as const satisfies Record<string, ErrorCodeEntry>;

/** The broker's whole catalogue. */
export const BROKER_ERRORS: Readonly<Record<string, ErrorCodeEntry>> = { ...BROKER_API_ERRORS, ...BROKER_LOCAL_ERRORS, ...RBAC_RULE_ERRORS };

export type BrokerErrorCode = keyof typeof BROKER_API_ERRORS;
export type LocalBrokerErrorCode = keyof typeof BROKER_LOCAL_ERRORS;
export type RbacRuleCode = keyof typeof RBAC_RULE_ERRORS;

/** API code → HTTP status. */
export const BrokerErrorCodes = Object.fromEntries(Object.entries(BROKER_API_ERRORS).map(([code, e]) => [code, e.status])) as
  { readonly [K in BrokerErrorCode]: (typeof BROKER_API_ERRORS)[K]['status'] };

/** JSON body of every non-2xx response. */
export interface ApiErrorBody {
  error: { code: BrokerErrorCode; message: string; details?: unknown };
}

export function isBrokerErrorCode(s: unknown): s is BrokerErrorCode {
  return typeof s === 'string' && Object.hasOwn(BrokerErrorCodes, s);
}
