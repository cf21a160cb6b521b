// The gateway's error catalogue (every PLX_GATEWAY_* code, with meaning and remedy).
// docs/errors.md is generated from it (`npm run docs:errors`). Refusals of a stream are not
// errors of the gateway: they are answered on the stream (see refusal.ts) and counted; a
// sender that receives one surfaces it as PLX_GATEWAY_REFUSED with the reason.

export interface GatewayErrorEntry {
  readonly meaning: string;
  readonly remedy: string;
  readonly status?: number;
}

export const GATEWAY_ERRORS = {
  PLX_GATEWAY_BAD_ARGUMENT: {
    meaning: 'A flag or configuration value of the gateway is invalid; the message names each problem.',
    remedy: 'Correct the named flag or value and run `plexus gateway run` again.',
  },
  PLX_GATEWAY_BAD_EXPORTS: {
    meaning: 'The export table (the services this cluster lets other clusters reach through its gateway) is malformed; the message names each entry and field.',
    remedy: 'Fix the named entries of the --exports file: namespace/name/port must be unique, ports 1..65535, backends host:port.',
  },
  PLX_GATEWAY_UDP_UNSUPPORTED: {
    meaning: 'An exported port is UDP or SCTP. The gateway carries TCP streams only (HTTP/2 CONNECT); it does not carry datagrams.',
    remedy: 'Export only TCP ports through the gateway; a service that needs UDP across clusters needs routed pod networks.',
  },
  PLX_GATEWAY_IDENTITY: {
    meaning: 'The gateway\'s own identity (certificate, key, trust bundle) cannot be read or is not a cluster identity of the clusterset.',
    remedy: 'Pass --identity-dir of a joined agent (identity.json), or --cert/--key/--ca files of a cluster certificate issued by the clusterset root.',
  },
  PLX_GATEWAY_LISTEN: {
    meaning: 'The gateway could not listen on an address (in use, not local, or not permitted).',
    remedy: 'Choose a free address and port with --listen (or the forward\'s local address).',
  },
  PLX_GATEWAY_REFUSED: {
    meaning: 'The peer gateway refused a stream; the message carries its reason (not-exported, port-not-exported, not-a-member, bad-target, untrusted …).',
    remedy: 'Export the service and port in the peer cluster, or check that this cluster is a current member with a valid identity; the peer logs the refusal with this cluster\'s identity.',
  },
  PLX_GATEWAY_PEER_IDENTITY: {
    meaning: 'The peer gateway did not present the certificate of the cluster it was expected to be (exact SPIFFE identity of this clusterset).',
    remedy: 'Check the peer gateway address: it must belong to the named cluster. A mismatch can mean a wrong address or an interception.',
  },
  PLX_GATEWAY_UNREACHABLE: {
    meaning: 'The peer gateway could not be reached or the connection to it was lost before the stream was answered.',
    remedy: 'Check the peer gateway address and that it runs; the gateway reconnects on the next stream.',
  },
} as const satisfies Record<string, GatewayErrorEntry>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  /** For PLX_GATEWAY_REFUSED: the peer's refusal reason. */
  readonly reason: string | undefined;

  constructor(code: GatewayErrorCode, message: string, options: { cause?: unknown; reason?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.reason = options.reason;
  }
}

export function isGatewayError(e: unknown, code?: GatewayErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code);
}
