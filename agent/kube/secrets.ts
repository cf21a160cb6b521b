// Narrow access to Secrets for the identity store. agent/kube/ is the only code that
// talks to an API server.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import { AgentError } from '../errors.ts';

export interface SecretAccess {
  readonly description: string;
  read(namespace: string, name: string): Promise<V1Secret | null>;
  /**
   * Creates or replaces the Secret in one request each; never merges stale keys. With
   * `dryRun` the API server validates and authorizes the write without persisting it.
   */
  write(secret: V1Secret & { metadata: { name: string; namespace: string } }, o?: { dryRun?: boolean }): Promise<void>;
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

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export function secretAccess(kc: KubeConfig): SecretAccess {
  const api = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? 'in-cluster';
  const fail = (what: string, err: unknown) =>
    new AgentError('PLX_AGENT_KUBE', `${what} on ${server}: ${(err as Error).message}`, { cause: err });
  return {
    description: server,
    async read(namespace, name) {
      try {
        return await api.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw fail(`cannot read Secret ${namespace}/${name}`, err);
      }
    },
    async write(secret, o = {}) {
      const { namespace, name } = secret.metadata;
      const dryRun = o.dryRun ? 'All' : undefined;
      try {
        await api.createNamespacedSecret({ namespace, body: secret, ...(dryRun ? { dryRun } : {}) });
        return;
      } catch (err) {
        if (statusOf(err) !== 409) throw fail(`cannot create Secret ${namespace}/${name}`, err);
      }
      try {
        await api.replaceNamespacedSecret({ namespace, name, body: secret, ...(dryRun ? { dryRun } : {}) });
      } catch (err) {
        throw fail(`cannot replace Secret ${namespace}/${name}`, err);
      }
    },
  };
}
