// One JSON call to the broker API over undici, shared by every client (agent, admin CLI,
// user CLI). It returns what happened instead of throwing, so each caller maps failures
// onto its own error catalogue: unreachable (transport), rejected (an API error body with
// its stable code), or protocol (a body the contract's schema does not accept).
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { isBrokerErrorCode, type BrokerErrorCode } from './errors.ts';

export interface BrokerCallTarget {
  readonly baseUrl: URL;
  readonly dispatcher: Dispatcher;
  /**
   * Bounds the whole call: waiting for a connection, connecting, the headers and the body.
   * undici's headersTimeout starts only once the request is written, and an AbortSignal
   * takes effect only then too (RequestHandler.onRequestStart), so a request queued behind
   * a wedged connection waited as long as that connection did. The deadline is therefore a
   * race, not only a signal.
   */
  readonly timeoutMs: number;
}

export type BrokerCallResult<T> =
  | { readonly ok: true; readonly data: T }
  | { readonly ok: false; readonly kind: 'unreachable'; readonly message: string; readonly cause: unknown }
  | { readonly ok: false; readonly kind: 'rejected'; readonly status: number; readonly code: BrokerErrorCode | undefined; readonly message: string }
  | { readonly ok: false; readonly kind: 'protocol'; readonly message: string };

/** `signal` lets the caller give up sooner (its own deadline, a stop); it ends the call as unreachable. */
export async function callBroker<S extends z.ZodType>(
  t: BrokerCallTarget, method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S, signal?: AbortSignal,
): Promise<BrokerCallResult<z.infer<S>>> {
  const url = new URL(path, t.baseUrl);
  const abort = new AbortController();
  let timedOut = false;
  let giveUp: (reason: unknown) => void = () => undefined;
  const gaveUp = new Promise<never>((_, reject) => { giveUp = reject; });
  const timer = setTimeout(() => { timedOut = true; giveUp(new Error(`no answer within ${t.timeoutMs} ms`)); }, t.timeoutMs);
  const onCallerAbort = () => giveUp(signal?.reason ?? new Error('the caller gave up'));
  if (signal?.aborted) onCallerAbort();
  else signal?.addEventListener('abort', onCallerAbort, { once: true });
  let res: Dispatcher.ResponseData;
  let text: string;
  const exchange = (async () => {
    const r = await request(url, {
      method, dispatcher: t.dispatcher, headersTimeout: t.timeoutMs, bodyTimeout: t.timeoutMs, signal: abort.signal,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { r, text: await r.body.text() };
  })();
  try {
    ({ r: res, text } = await Promise.race([exchange, gaveUp]));
  } catch (cause) {
    // Whenever the request reaches a connection it is cancelled at once; its outcome no longer matters.
    abort.abort(cause);
    exchange.catch(() => undefined);
    const why = timedOut ? `no answer within ${t.timeoutMs} ms` : (cause as Error)?.message ?? String(cause);
    return { ok: false, kind: 'unreachable', message: `cannot reach the broker at ${t.baseUrl.origin}: ${why}`, cause };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerAbort);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.statusCode >= 400) {
    const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = isBrokerErrorCode(err?.code) ? err.code : undefined;
    const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.statusCode} from ${method} ${url.pathname}`;
    return { ok: false, kind: 'rejected', status: res.statusCode, code, message };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, kind: 'protocol', message: `unexpected response from ${method} ${url.pathname}: ${parsed.error.issues[0]?.message ?? 'invalid body'}` };
  }
  return { ok: true, data: parsed.data };
}

/**
 * OpenSSL's verdicts for "the server's chain does not lead to a root we trust". A host
 * name mismatch (ERR_TLS_CERT_ALTNAME_INVALID) or an expired certificate is not in here:
 * those are not a question of which root the server answers from.
 */
const UNTRUSTED_CHAIN = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

/** Whether an unreachable call's cause is the server's certificate not chaining to the roots given. */
export function isUntrustedServerChain(cause: unknown): boolean {
  for (let e = cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNTRUSTED_CHAIN.has(code)) return true;
  }
  return false;
}
