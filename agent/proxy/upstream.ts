// The local API server, reached with the agent's own credentials (client certificate or
// bearer token from its kubeconfig or in-cluster service account). Connections are kept
// alive and reused; a bearer token is re-read every `refreshMs` because projected
// service-account tokens rotate.
import https from 'node:https';
import type { ClientRequest, OutgoingHttpHeaders } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { checkHttpsUrl } from '../../broker/api/addresses.ts';
import { AgentError } from '../errors.ts';

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, exactly as the client sent them. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
}

export interface Upstream {
  /** https://host:port of the API server, for logs. */
  readonly origin: string;
  request(r: UpstreamRequest): ClientRequest;
  close(): void;
}

export interface KubeUpstreamOptions {
  readonly refreshMs?: number;
  readonly now?: () => number;
}

export async function kubeConfigUpstream(kc: KubeConfig, o: KubeUpstreamOptions = {}): Promise<Upstream> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new AgentError('PLX_AGENT_KUBE', 'the kubeconfig names no API server');
  const checked = checkHttpsUrl('the API server URL of the kubeconfig', server);
  if (!checked.ok) {
    throw new AgentError('PLX_AGENT_KUBE', checked.problem === 'not-https' ? `the access proxy forwards over https only, not ${new URL(server).protocol}` : checked.message);
  }
  const url = checked.url;
  const now = o.now ?? Date.now;
  const refreshMs = o.refreshMs ?? 60_000;
  const load = async () => {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return opts;
  };
  let opts = await load();
  let loadedAt = now();
  const agent = new https.Agent({
    keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true,
    ...(opts.servername ? { servername: opts.servername } : {}),
  });
  const basePath = url.pathname.replace(/\/$/, '');
  let refreshing = false;
  return {
    origin: url.origin,
    request(r) {
      if (now() - loadedAt > refreshMs && !refreshing) {
        refreshing = true;
        load().then((next) => { opts = next; loadedAt = now(); }, () => { loadedAt = now(); }).finally(() => { refreshing = false; });
      }
      const auth = (opts.headers ?? {}) as OutgoingHttpHeaders;
      return https.request({
        protocol: 'https:', hostname: url.hostname, port: url.port || 443, method: r.method, path: basePath + r.path,
        headers: { ...r.headers, ...auth }, agent,
      });
    },
    close: () => agent.destroy(),
  };
}
