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
  readonly timeoutMs: number;
}

export type BrokerCallResult<T> =
  | { readonly ok: true; readonly data: T }
  | { readonly ok: false; readonly kind: 'unreachable'; readonly message: string; readonly cause: unknown }
  | { readonly ok: false; readonly kind: 'rejected'; readonly status: number; readonly code: BrokerErrorCode | undefined; readonly message: string }
  | { readonly ok: false; readonly kind: 'protocol'; readonly message: string };

export async function callBroker<S extends z.ZodType>(
  t: BrokerCallTarget, method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S,
): Promise<BrokerCallResult<z.infer<S>>> {
  const url = new URL(path, t.baseUrl);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method, dispatcher: t.dispatcher, headersTimeout: t.timeoutMs, bodyTimeout: t.timeoutMs,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (cause) {
    return { ok: false, kind: 'unreachable', message: `cannot reach the broker at ${t.baseUrl.origin}: ${(cause as Error).message}`, cause };
  }
  const text = await res.body.text();
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
