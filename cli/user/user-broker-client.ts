// HTTPS calls a person makes to the broker: the pinned trust-bundle fetch, login (token +
// CSR), renew and the advertisement list (with the person's certificate). The broker's
// error code is kept as the thrown error's code.
import { Agent, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { checkHttpsUrl } from '../../broker/api/addresses.ts';
import { advertisementListSchema, advertisementPaths, type AdvertisementList } from '../../broker/api/advertisement.ts';
import { callBroker } from '../../broker/api/call.ts';
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
  const checked = checkHttpsUrl('broker URL', raw);
  if (!checked.ok) throw new UserCliError('PLX_USER_BAD_ARGUMENT', checked.message);
  return checked.url;
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
    const r = await callBroker({ baseUrl: this.baseUrl, dispatcher: this.#dispatcher, timeoutMs: this.#timeoutMs }, method, path, body, schema);
    if (r.ok) return r.data;
    if (r.kind === 'unreachable') throw new UserCliError('PLX_USER_BROKER_UNREACHABLE', r.message, { cause: r.cause });
    if (r.kind === 'rejected') throw new UserCliError(r.code ?? 'PLX_BROKER_BAD_RESPONSE', r.message);
    throw new UserCliError('PLX_USER_BROKER_PROTOCOL', r.message);
  }
}
