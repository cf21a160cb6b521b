// Why a receiving gateway refuses a stream. Each reason has its own HTTP/2 status and is
// sent in the `plexus-refusal` response header, counted in
// plexus_gateway_refusals_total{reason,peer} and logged with the peer's identity. The set is
// closed, so the metric's label set stays bounded.

export const REFUSALS = {
  /** The CONNECT authority is not `<name>.<namespace>.svc:<port>` (an address, a URL, junk). */
  'bad-target': 400,
  /** Not a CONNECT request: the gateway carries streams only. */
  'not-connect': 405,
  /** The TLS peer presented no client certificate. */
  'no-client-cert': 401,
  /** The client certificate does not chain to a current clusterset root, or is not valid for clientAuth. */
  'untrusted': 403,
  /** The certificate is valid but names another trust domain (another clusterset). */
  'other-clusterset': 403,
  /** The certificate names a user or admin, not a cluster. */
  'not-a-cluster': 403,
  /** The peer's certificate has expired (checked on every stream, not only at the handshake). */
  'expired': 403,
  /** The peer cluster is not a current member (removed, or not known yet). */
  'not-a-member': 403,
  /** The peer certificate's serial is revoked. */
  'revoked': 403,
  /** The service is not exported by this cluster. */
  'not-exported': 404,
  /** The service is exported, but not on this port. */
  'port-not-exported': 404,
  /** The export names backends, but none accepted a connection. */
  'backend-unreachable': 502,
} as const;

export type RefusalReason = keyof typeof REFUSALS;

export const REFUSAL_HEADER = 'plexus-refusal';

export function refusalStatus(reason: RefusalReason): number {
  return REFUSALS[reason];
}

export function isRefusalReason(s: unknown): s is RefusalReason {
  return typeof s === 'string' && Object.hasOwn(REFUSALS, s);
}
