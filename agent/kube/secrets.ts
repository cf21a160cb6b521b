// Narrow access to Secrets for the identity store. agent/kube/ is the only code that
// talks to an API server.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import { AgentError } from '../errors.ts';
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

export function secretAccess(kc: KubeConfig): SecretAccess {
  const api = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? 'in-cluster';
  const secret = (namespace: string, name: string) => ({ kind: 'Secret', namespace, name });
  return {
    description: server,
    async read(namespace, name) {
      try {
        return await api.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if (statusOfFailure(err)?.code === 404) return null;
        throw kubeFailure('read', secret(namespace, name), server, err);
      }
    },
    async write(body, o = {}) {
      const { namespace, name } = body.metadata;
      const dryRun = o.dryRun ? 'All' : undefined;
      try {
        await api.createNamespacedSecret({ namespace, body, ...(dryRun ? { dryRun } : {}) });
        return;
      } catch (err) {
        if (statusOfFailure(err)?.code !== 409) throw kubeFailure('create', secret(namespace, name), server, err);
      }
      try {
        await api.replaceNamespacedSecret({ namespace, name, body, ...(dryRun ? { dryRun } : {}) });
      } catch (err) {
        throw kubeFailure('replace', secret(namespace, name), server, err);
      }
    },
    async createNamespace(name) {
      try {
        await api.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'plexus' } } } });
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
