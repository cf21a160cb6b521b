// Narrow access to Secrets for the identity store. agent/kube/ is the only code that
// talks to an API server.
//
// Raw JSON requests (kube-api.ts) rather than client-node's CoreV1Api: the typed client
// loads the package index, every generated API and model, about 30 MiB resident in every
// agent that keeps its identity in a Secret (bench:footprint).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { V1Secret } from '@kubernetes/client-node';
import { AgentError } from '../errors.ts';
import { HttpKubeApi, type RawResponse } from './kube-api.ts';
import { kubeFailure, statusOfFailure } from './kube-failure.ts';

export interface SecretAccess {
  readonly description: string;
  read(namespace: string, name: string): Promise<V1Secret | null>;
  /**
   * Creates or replaces the Secret in one request each; never merges stale keys. With
   * `dryRun` the API server validates and authorizes the write without persisting it.
   */
  write(secret: V1Secret & { metadata: { name: string; namespace: string } }, o?: { dryRun?: boolean }): Promise<void>;
  /** Creates the namespace; an existing one is success, and 'forbidden' lets the caller say what to do. */
  createNamespace(name: string): Promise<'created' | 'exists' | 'forbidden'>;
}

/** `kubeconfigPath` undefined means in-cluster credentials. */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromCluster();
  } catch (err) {
    throw new AgentError('PLX_AGENT_KUBE', `cannot load ${kubeconfigPath ? `kubeconfig ${kubeconfigPath}` : 'in-cluster credentials'}: ${(err as Error).message}`, { cause: err });
  }
  return kc;
}

/**
 * A refused request, shaped like client-node's ApiException (code, body, headers) so that
 * kubeFailure and statusOfFailure read its Status as they read the typed clients' failures.
 */
class RefusedRequest extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly headers: Record<string, string> = {};
  constructor(res: RawResponse) {
    super(`HTTP ${res.status}`);
    this.code = res.status;
    this.body = res.json;
  }
}

/** The answer when it is a success, else a RefusedRequest to throw. */
function answered(res: RawResponse): unknown {
  if (res.status >= 300) throw new RefusedRequest(res);
  return res.json;
}

export function secretAccess(kc: KubeConfig): SecretAccess {
  const api = new HttpKubeApi(kc);
  const server = api.server;
  const secret = (namespace: string, name: string) => ({ kind: 'Secret', namespace, name });
  const secrets = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  return {
    description: server,
    async read(namespace, name) {
      try {
        return answered(await api.request('GET', `${secrets(namespace)}/${encodeURIComponent(name)}`)) as V1Secret;
      } catch (err) {
        if (statusOfFailure(err)?.code === 404) return null;
        throw kubeFailure('read', secret(namespace, name), server, err);
      }
    },
    async write(secretBody, o = {}) {
      const { namespace, name } = secretBody.metadata;
      const query: Record<string, string> = o.dryRun ? { dryRun: 'All' } : {};
      const body = { apiVersion: 'v1', kind: 'Secret', ...secretBody };
      try {
        answered(await api.request('POST', secrets(namespace), { query, body }));
        return;
      } catch (err) {
        if (statusOfFailure(err)?.code !== 409) throw kubeFailure('create', secret(namespace, name), server, err);
      }
      try {
        answered(await api.request('PUT', `${secrets(namespace)}/${encodeURIComponent(name)}`, { query, body }));
      } catch (err) {
        throw kubeFailure('replace', secret(namespace, name), server, err);
      }
    },
    async createNamespace(name) {
      try {
        answered(await api.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'plexus' } } } }));
        return 'created';
      } catch (err) {
        const s = statusOfFailure(err);
        if (s?.code === 409) return 'exists';
        if (s?.code === 403) return 'forbidden';
        throw kubeFailure('create', { kind: 'Namespace', name }, server, err);
      }
    },
  };
}
