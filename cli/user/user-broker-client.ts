// HTTPS calls a person makes to the broker: the pinned trust-bundle fetch, login (token +
// CSR), renew and the advertisement list (with the person's certificate). The broker's
// error code is kept as the thrown error's code.
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { advertisementListSchema, advertisementPaths, type AdvertisementList } from '../../broker/api/advertisement.ts';
import { isBrokerErrorCode } from '../../broker/api/errors.ts';
import { paths, trustBundleResponseSchema, type TrustBundleResponse } from '../../broker/api/types.ts';
import {
  userIdentityResponseSchema, userPaths, type UserIdentityResponse, type UserLoginRequest, type UserRenewRequest,
} from '../../broker/api/users.ts';
import { UserCliError } from './user-error.ts';

export interface UserBrokerClientOptions {
  readonly baseUrl: string;
  /** Roots to verify the broker with; omit only for the pinned bootstrap fetch. */
  readonly caPem?: string;
  readonly clientCert?: { readonly certPem: string; readonly keyPem: string };
  readonly timeoutMs?: number;
}

export function parseBrokerUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new UserCliError('PLX_USER_BAD_ARGUMENT', `broker URL "${raw}" is not a URL (expected https://HOST:PORT)`, { cause: e });
  }
  if (url.protocol !== 'https:') throw new UserCliError('PLX_USER_BAD_ARGUMENT', `broker URL must use https, not ${url.protocol}`);
  return url;
}

export class UserBrokerClient {
  readonly baseUrl: URL;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;

  constructor(o: UserBrokerClientOptions) {
    this.baseUrl = parseBrokerUrl(o.baseUrl);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#dispatcher = new Agent({
      connect: {
        minVersion: 'TLSv1.3',
        ...(o.caPem ? { ca: o.caPem, rejectUnauthorized: true } : { rejectUnauthorized: false }),
        ...(o.clientCert ? { cert: o.clientCert.certPem, key: o.clientCert.keyPem } : {}),
      },
    });
  }

  trustBundle(): Promise<TrustBundleResponse> {
    return this.#call('GET', paths.trustBundle, undefined, trustBundleResponseSchema);
  }

  login(body: UserLoginRequest): Promise<UserIdentityResponse> {
    return this.#call('POST', userPaths.login, body, userIdentityResponseSchema);
  }

  renew(body: UserRenewRequest): Promise<UserIdentityResponse> {
    return this.#call('POST', userPaths.renew, body, userIdentityResponseSchema);
  }

  advertisements(): Promise<AdvertisementList> {
    return this.#call('GET', advertisementPaths.advertisements, undefined, advertisementListSchema);
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }

  async #call<S extends z.ZodType>(method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const url = new URL(path, this.baseUrl);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method, dispatcher: this.#dispatcher, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (e) {
      throw new UserCliError('PLX_USER_BROKER_UNREACHABLE', `cannot reach the broker at ${this.baseUrl.origin}: ${(e as Error).message}`, { cause: e });
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
      const code = isBrokerErrorCode(err?.code) ? err.code : 'PLX_BROKER_BAD_RESPONSE';
      throw new UserCliError(code, typeof err?.message === 'string' ? err.message : `HTTP ${res.statusCode} from ${method} ${url.pathname}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new UserCliError('PLX_USER_BROKER_PROTOCOL', `unexpected response from ${method} ${url.pathname}`);
    return parsed.data;
  }
}
