// The broker call the access proxy needs, over the cluster's mTLS identity: the
// revocation list (GET /v1/users/revoked). Kept here, beside its only user.
import { request } from 'undici';
import { revokedUserListSchema, userPaths, type RevokedUserList } from '../../broker/api/users.ts';
import { RotatingDispatcher, type ClientTls } from '../broker-client/rotating-dispatcher.ts';
import { AgentError } from '../errors.ts';

export interface ProxyBrokerCallsOptions {
  readonly baseUrl: string;
  readonly trustBundle: string;
  readonly clientCert: { readonly certPem: string; readonly keyPem: string };
  readonly timeoutMs?: number;
}

export class ProxyBrokerCalls {
  readonly #base: URL;
  readonly #tls: RotatingDispatcher;
  readonly #timeoutMs: number;

  constructor(o: ProxyBrokerCallsOptions) {
    this.#base = new URL(o.baseUrl);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#tls = new RotatingDispatcher({ ...o.clientCert, trustBundle: o.trustBundle });
  }

  async revokedUsers(): Promise<RevokedUserList> {
    const json = await this.#call('GET', userPaths.revoked, undefined);
    const parsed = revokedUserListSchema.safeParse(json);
    if (!parsed.success) throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', 'invalid revoked-user list from the broker');
    return parsed.data;
  }

  /** After a renewal or a trust-bundle change; calls in flight finish on their connections. */
  useIdentity(tls: ClientTls): void {
    this.#tls.use(tls);
  }

  close(): Promise<void> {
    return this.#tls.close();
  }

  async #call(method: 'GET', path: string, body: unknown): Promise<unknown> {
    let res;
    try {
      res = await request(new URL(path, this.#base), {
        method, dispatcher: this.#tls.current, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (err) {
      throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', `cannot reach broker at ${this.#base.origin}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      throw new AgentError('PLX_AGENT_BROKER_REJECTED', `broker refused ${method} ${path}: HTTP ${res.statusCode}`, { status: res.statusCode });
    }
    return text ? JSON.parse(text) : undefined;
  }
}
