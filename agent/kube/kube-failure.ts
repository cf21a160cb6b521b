// One line for every Kubernetes API failure: what was attempted on which object, and the
// API server's own Status (message, reason, HTTP code). client-node's ApiException puts
// the status code, the raw body and every response header into its message ("HTTP-Code:
// …\nHeaders: …"); that text must never reach a user, so it is read here for its Status
// and otherwise dropped. Both the raw REST client (kube-api.ts) and the typed clients
// (secrets.ts) go through this module.
import { AgentError } from '../errors.ts';

/** The parts of a metav1.Status a message needs. */
export interface KubeStatus {
  readonly code: number | undefined;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  /** details.kind of the Status: the resource the server could not find (e.g. "namespaces"). */
  readonly detailsKind: string | undefined;
}

function parsed(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === 'string') {
    try {
      const v: unknown = JSON.parse(body);
      return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

/** One line: an API server's plain-text answer ("404 page not found\n") has line breaks too. */
const str = (v: unknown) => {
  const t = typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : '';
  return t === '' ? undefined : t;
};

/** The Status in a response body (a JSON string or an object); fields absent when it is not one. */
export function kubeStatus(httpCode: number | undefined, body: unknown): KubeStatus {
  const s = parsed(body);
  const details = parsed(s?.details);
  return { code: httpCode, reason: str(s?.reason), message: str(s?.message), detailsKind: str(details?.kind) };
}

/** client-node's ApiException, recognised by shape (code, body, headers) so no library class leaks. */
export function isApiException(err: unknown): err is Error & { code: number; body: unknown; headers: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err && 'headers' in err;
}

/** `namespaces "x" not found (NotFound, HTTP 404)`: the server's words, its reason and the code. */
export function describeStatus(s: KubeStatus): string {
  const tail = [s.reason, s.code === undefined ? undefined : `HTTP ${s.code}`].filter(Boolean).join(', ');
  return `${s.message ?? 'no message from the API server'}${tail ? ` (${tail})` : ''}`;
}

/**
 * A 404 without a Status reason is the API server's plain "page not found": the resource
 * type is not served at all, which for a Plexus kind means its CRD is missing.
 */
export function typeNotServed(s: KubeStatus): boolean {
  return s.code === 404 && s.reason === undefined;
}

/** The Status of a failed typed-client call, or of a raw response. */
export function statusOfFailure(err: unknown): KubeStatus | undefined {
  return isApiException(err) ? kubeStatus(err.code, err.body) : undefined;
}

export interface KubeObjectRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

export function objectText(o: KubeObjectRef): string {
  const where = o.namespace && o.name ? `${o.namespace}/${o.name}` : (o.name ?? (o.namespace ? `in ${o.namespace}` : ''));
  return where ? `${o.kind} ${where}` : o.kind;
}

/**
 * PLX_AGENT_KUBE: `cannot <verb> <Kind ns/name> on <server>: <server's message> (<Reason>, HTTP <code>)`.
 * `err` is a client-node ApiException, or anything else (then its first line only).
 */
export function kubeFailure(verb: string, object: KubeObjectRef, server: string, err: unknown): AgentError {
  const s = statusOfFailure(err);
  const why = s ? describeStatus(s) : firstLine(err);
  return new AgentError('PLX_AGENT_KUBE', `cannot ${verb} ${objectText(object)} on ${server}: ${why}`, {
    cause: err, ...(s?.code === undefined ? {} : { status: s.code }), ...(s?.reason ? { reason: s.reason } : {}),
  });
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n', 1)[0]!;
}
