// `plexus agent dns patch-coredns [--undo]` against a real kube-apiserver: the Plexus
// block goes into kube-system/coredns idempotently, every other key and every other byte
// of the Corefile stay as they were, and --undo restores the original exactly.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { BLOCK_BEGIN } from '../../agent/dns/corefile.ts';
import { patchCoredns } from '../../agent/dns/patch-coredns.ts';
import type { AgentError } from '../../agent/errors.ts';
import { HttpKubeApi } from '../../agent/kube/kube-api.ts';
import { loadKubeConfig } from '../../agent/kube/secrets.ts';
import { useClusters } from '../harness/use-clusters.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '..', '..', 'bin', 'plexus.ts');

const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
}
`;

describe('plexus agent dns patch-coredns', () => {
  const lab = useClusters(1);

  async function configMap() {
    return lab.cluster(0).client(CoreV1Api).readNamespacedConfigMap({ namespace: 'kube-system', name: 'coredns' });
  }

  it('adds the stub domain once, keeps everything else, and --undo restores the original', async () => {
    const c = lab.cluster(0);
    await c.client(CoreV1Api).createNamespacedConfigMap({ namespace: 'kube-system', body: {
      metadata: { name: 'coredns', labels: { 'k8s-app': 'kube-dns' } }, data: { Corefile: kubeadmCorefile, other: 'kept' },
    } });
    const plexus = (...args: string[]) => run(process.execPath, [bin, 'agent', 'dns', 'patch-coredns', '--kubeconfig', c.kubeconfigPath, ...args]);

    expect((await plexus('--upstream', '10.96.0.53')).stdout).toContain('updated');
    const patched = await configMap();
    expect(patched.data?.Corefile?.startsWith(BLOCK_BEGIN)).toBe(true);
    expect(patched.data?.Corefile).toContain('forward . 10.96.0.53');
    expect(patched.data?.Corefile?.endsWith(kubeadmCorefile)).toBe(true);
    expect(patched.data?.other).toBe('kept');
    expect(patched.metadata?.labels).toEqual({ 'k8s-app': 'kube-dns' });

    expect((await plexus('--upstream', '10.96.0.53')).stdout).toContain('unchanged');
    expect((await configMap()).metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion);

    expect((await plexus('--undo')).stdout).toContain('updated');
    const restored = await configMap();
    expect(restored.data).toEqual({ Corefile: kubeadmCorefile, other: 'kept' });
    expect((await plexus('--undo')).stdout).toContain('unchanged');
  });

  it('fails with a stable code when the ConfigMap is missing or no upstream is given', async () => {
    const api = new HttpKubeApi(loadKubeConfig(lab.cluster(0).kubeconfigPath));
    const err = await patchCoredns(api, { name: 'missing', stub: { upstream: '10.0.0.1' } }).catch((e: unknown) => e);
    expect((err as AgentError).code).toBe('PLX_AGENT_KUBE');
    const noUpstream = await patchCoredns(api, {}).catch((e: unknown) => e);
    expect((noUpstream as AgentError).code).toBe('PLX_AGENT_BAD_ARGUMENT');
    const cli = await run(process.execPath, [bin, 'agent', 'dns', 'patch-coredns', '--kubeconfig', lab.cluster(0).kubeconfigPath]).catch((e: { code?: number; stderr?: string }) => e);
    expect((cli as { code?: number }).code).not.toBe(0);
    expect((cli as { stderr?: string }).stderr).toContain('PLX_AGENT_BAD_ARGUMENT');
  });
});
