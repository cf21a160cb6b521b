// Raw JSON REST access to one API server, authenticated from a KubeConfig exactly as
// client-node's own calls are (applySecurityAuthentication). Raw rather than the typed
// clients because informer caches, writes and status comparisons must all see the same
// shape (client-node's typed models turn timestamps into Dates), and because
// KubernetesObjectApi cannot address the status subresource.
// The two values come from their own modules, not the package index: the index loads every
// generated API and model (about 30 MiB resident; bench:footprint, cli/role-libraries.test.ts).
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import type { HttpMethod, KubeConfig, KubernetesListObject } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { Dispatcher } from 'undici';
import { AgentError } from '../errors.ts';
import { describeStatus, kubeStatus, typeNotServed } from './kube-failure.ts';
import { resourcePath, type KubeObject, type ResourceType } from './resources.ts';

/** The field manager of every server-side apply Plexus does. */
export const FIELD_MANAGER = 'plexus';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ObjectRef {
  namespace?: string | undefined;
  name: string;
}

/** The narrow API-server surface the agent uses. */
export interface KubeApi {
  /** API server URL, for messages. */
  readonly server: string;
  list<T extends KubeObject>(r: ResourceType<T>, o?: ListOptions): Promise<KubernetesListObject<T>>;
  /** null when not found. */
  get<T extends KubeObject>(r: ResourceType<T>, ref: ObjectRef): Promise<T | null>;
  /** Server-side apply (field manager `plexus`, force) of the object or its status. */
  apply<T extends KubeObject>(r: ResourceType<T>, obj: NoInfer<T>, o?: { subresource?: 'status' }): Promise<T>;
  /** False when it was already gone (not-found on delete is success). */
  delete(r: ResourceType<never>, ref: ObjectRef): Promise<boolean>;
  /** The object as the API server would create it (defaults, validation, admission), never stored: `dryRun=All`. */
  dryRunCreate<T extends KubeObject>(r: ResourceType<T>, obj: NoInfer<T>): Promise<T>;
}

export function statusOf(err: unknown): number | undefined {
  return err instanceof AgentError ? err.status : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

export interface RawResponse { status: number; json: unknown }

export class HttpKubeApi implements KubeApi {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #timeoutMs: number;
  /** One connection pool per API server: keep-alive instead of a TLS handshake per request. */
  #dispatcher: Dispatcher | undefined;

  constructor(kc: KubeConfig, o: { timeoutMs?: number } = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new AgentError('PLX_AGENT_KUBE', 'kubeconfig has no current cluster');
    this.#kc = kc;
    this.server = cluster.server;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
  }

  async list<T extends KubeObject>(r: ResourceType<T>, o: ListOptions = {}): Promise<KubernetesListObject<T>> {
    const query: Record<string, string> = {
      ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}), ...(o.fieldSelector ? { fieldSelector: o.fieldSelector } : {}),
    };
    const res = await this.#send('GET', resourcePath(r, { namespace: o.namespace }), query);
    return this.#ok(res, 'list', r) as KubernetesListObject<T>;
  }

  async get<T extends KubeObject>(r: ResourceType<T>, ref: ObjectRef): Promise<T | null> {
    const res = await this.#send('GET', resourcePath(r, ref));
    if (res.status === 404) return null;
    return this.#ok(res, `get ${refText(ref)}`, r) as T;
  }

  async apply<T extends KubeObject>(r: ResourceType<T>, obj: NoInfer<T>, o: { subresource?: 'status' } = {}): Promise<T> {
    const ref = { namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? '' };
    const body = JSON.stringify({ ...obj, apiVersion: r.apiVersion, kind: r.kind });
    const path = resourcePath(r, { ...ref, subresource: o.subresource });
    const res = await this.#send('PATCH', path, { fieldManager: FIELD_MANAGER, force: 'true' }, body, PatchStrategy.ServerSideApply);
    return this.#ok(res, `apply ${o.subresource ? `${o.subresource} of ` : ''}${refText(ref)}`, r) as T;
  }

  async dryRunCreate<T extends KubeObject>(r: ResourceType<T>, obj: NoInfer<T>): Promise<T> {
    const ns = obj.metadata?.namespace;
    const body = JSON.stringify({ ...obj, apiVersion: r.apiVersion, kind: r.kind });
    const res = await this.#send('POST', resourcePath(r, { namespace: ns }), { dryRun: 'All', fieldManager: FIELD_MANAGER }, body, 'application/json');
    return this.#ok(res, `dry-run create ${refText({ namespace: ns, name: obj.metadata?.name ?? obj.metadata?.generateName ?? '' })}`, r) as T;
  }

  /** Drops the kept-alive connections at agent stop; requests still in flight are aborted. */
  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    await d?.destroy().catch(() => undefined);
  }

  /** True when GET /readyz answers 200 within `timeoutMs`: cheap, and needs no RBAC beyond the default. */
  async ready(timeoutMs: number): Promise<boolean> {
    try {
      return (await this.#send('GET', '/readyz', {}, undefined, undefined, timeoutMs)).status === 200;
    } catch {
      return false;
    }
  }

  async delete(r: ResourceType<never>, ref: ObjectRef): Promise<boolean> {
    const res = await this.#send('DELETE', resourcePath(r, ref));
    if (res.status === 404) return false;
    this.#ok(res, `delete ${refText(ref)}`, r);
    return true;
  }

  /**
   * One request on this API server's authenticated connection, for the few calls the
   * KubeApi surface does not cover (agent/kube/secrets.ts: create and replace). Only a
   * failure to get any answer throws; the status is the caller's to read.
   */
  request(method: HttpMethod, path: string, o: { query?: Record<string, string>; body?: unknown } = {}): Promise<RawResponse> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    return this.#send(method, path, o.query, body, body === undefined ? undefined : 'application/json');
  }

  #ok(res: RawResponse, what: string, r: ResourceType<never>): unknown {
    if (res.status < 300) return res.json;
    const s = kubeStatus(res.status, res.json);
    const hint = typeNotServed(s) ? `; the API server does not serve ${r.plural} (${r.apiVersion}): install the CRDs (kubectl apply -f crds/)` : '';
    throw new AgentError('PLX_AGENT_KUBE', `cannot ${what} (${r.kind}) on ${this.server}: ${describeStatus(s)}${hint}`, { status: res.status, ...(s.reason ? { reason: s.reason } : {}) });
  }

  async #send(method: HttpMethod, path: string, query: Record<string, string> = {}, body?: string, contentType?: string, timeoutMs = this.#timeoutMs): Promise<RawResponse> {
    const url = new URL(this.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (contentType) ctx.setHeaderParam('Content-Type', contentType);
    try {
      await this.#kc.applySecurityAuthentication(ctx);
      // The call above also builds a fresh dispatcher each time; only the first is kept (TLS
      // material is fixed per kubeconfig; tokens travel in the headers, re-read every call).
      const fresh = ctx.getDispatcher();
      if (this.#dispatcher === undefined) this.#dispatcher = fresh;
      else if (fresh && fresh !== this.#dispatcher) void fresh.close().catch(() => undefined);
      const dispatcher = this.#dispatcher;
      const res = await fetch(url, {
        method, headers: ctx.getHeaders(), ...(body === undefined ? {} : { body }),
        ...(dispatcher ? { dispatcher } : {}), signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      return { status: res.status, json: text ? safeJson(text) : undefined };
    } catch (err) {
      throw new AgentError('PLX_AGENT_KUBE', `cannot reach API server ${this.server} (${method} ${url.pathname}): ${(err as Error).message}`, { cause: err });
    }
  }
}

function refText(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}
