// HTTPS client for the admin API, used by the `plexus broker token|cluster` commands. It
// authenticates with the admin identity from the data directory and verifies the broker
// against the clusterset's trust bundle. The broker's error code is kept as the code of
// the thrown BrokerError, so the CLI prints it unchanged.
import { Agent, type Dispatcher } from 'undici';
import { callBroker } from './api/call.ts';
import type { z } from 'zod';
import {
  clusterInfoSchema, clusterListResponseSchema, createTokenResponseSchema, paths, tokenInfoSchema, tokenListResponseSchema,
  type ClusterInfo, type CreateTokenRequest, type CreateTokenResponse, type TokenInfo,
} from './api/types.ts';
import {
  inviteUserResponseSchema, userInfoSchema, userListResponseSchema, userPaths,
  type InviteUserRequest, type InviteUserResponse, type UserInfo,
} from './api/users.ts';
import { dataDirLayout, readDataFile, readRuntimeInfo } from './data-dir.ts';
import { BrokerError } from './errors.ts';

export interface AdminClientOptions {
  readonly baseUrl: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Roots that the broker's serving certificate must chain to. */
  readonly caPem: string;
  readonly timeoutMs?: number;
}

function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new BrokerError('PLX_BROKER_VALIDATION', `broker URL "${raw}" is not a URL (expected https://HOST:PORT)`, { cause: e });
  }
  if (url.protocol !== 'https:') throw new BrokerError('PLX_BROKER_VALIDATION', `broker URL must use https, not ${url.protocol}`);
  return url;
}

export class AdminClient {
  readonly baseUrl: URL;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;

  /** Admin identity from D/admin/, broker URL from `brokerUrl` or else D/broker.json. */
  static fromDataDir(dataDir: string, brokerUrl?: string): AdminClient {
    const layout = dataDirLayout(dataDir);
    const baseUrl = brokerUrl ?? readRuntimeInfo(layout)?.url;
    if (!baseUrl) {
      throw new BrokerError('PLX_BROKER_UNREACHABLE', `no running broker recorded in ${layout.brokerJson}; start one with "plexus broker start" or pass --broker URL`);
    }
    return new AdminClient({
      baseUrl,
      certPem: readDataFile(layout.adminCert, 'admin certificate'),
      keyPem: readDataFile(layout.adminKey, 'admin key'),
      caPem: readDataFile(layout.adminCa, 'admin trust bundle'),
    });
  }

  constructor(o: AdminClientOptions) {
    this.baseUrl = parseBaseUrl(o.baseUrl);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#dispatcher = new Agent({ connect: { minVersion: 'TLSv1.3', ca: o.caPem, cert: o.certPem, key: o.keyPem, rejectUnauthorized: true } });
  }

  createToken(req: CreateTokenRequest): Promise<CreateTokenResponse> {
    return this.#call('POST', paths.adminTokens, req, createTokenResponseSchema);
  }

  async listTokens(): Promise<TokenInfo[]> {
    return (await this.#call('GET', paths.adminTokens, undefined, tokenListResponseSchema)).tokens;
  }

  revokeToken(id: string): Promise<TokenInfo> {
    return this.#call('DELETE', paths.adminToken(id), undefined, tokenInfoSchema);
  }

  async listClusters(): Promise<ClusterInfo[]> {
    return (await this.#call('GET', paths.adminClusters, undefined, clusterListResponseSchema)).clusters;
  }

  removeCluster(id: string): Promise<ClusterInfo> {
    return this.#call('DELETE', paths.adminCluster(id), undefined, clusterInfoSchema);
  }

  inviteUser(req: InviteUserRequest): Promise<InviteUserResponse> {
    return this.#call('POST', userPaths.adminUsers, req, inviteUserResponseSchema);
  }

  async listUsers(): Promise<UserInfo[]> {
    return (await this.#call('GET', userPaths.adminUsers, undefined, userListResponseSchema)).users;
  }

  revokeUser(name: string): Promise<UserInfo> {
    return this.#call('DELETE', userPaths.adminUser(name), undefined, userInfoSchema);
  }

  /** Any admin endpoint, its response parsed with the wire contract's schema (e.g. cli/broker/rbac-commands.ts). */
  request<S extends z.ZodType>(method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    return this.#call(method, path, body, schema);
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }

  async #call<S extends z.ZodType>(method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const r = await callBroker({ baseUrl: this.baseUrl, dispatcher: this.#dispatcher, timeoutMs: this.#timeoutMs }, method, path, body, schema);
    if (r.ok) return r.data;
    if (r.kind === 'unreachable') throw new BrokerError('PLX_BROKER_UNREACHABLE', r.message, { cause: r.cause });
    if (r.kind === 'rejected') throw new BrokerError(r.code ?? 'PLX_BROKER_BAD_RESPONSE', r.message);
    throw new BrokerError('PLX_BROKER_BAD_RESPONSE', r.message);
  }
}
