// End to end, with real processes (two control planes, a `plexus broker start`, two
// `plexus agent run`): what a member may publish is bounded at the broker and reflected on
// its ServiceExport, and a named and an unnamed port across exports are a PortConflict on
// both exports with a derived Service that the API server accepts.
import { CoreV1Api } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { catalogPaths } from '../../broker/api/catalog.ts';
import {
  createService, ensureNamespace, exportConditions, exportService, serviceImport, serviceImports, setEndpoints, type Condition } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const cond = (cs: Condition[], type: string) => cs.find((c) => c.type === type);

describe('MCS guards across two clusters', () => {
  const fixture = useMesh({ clusters: 2 });
  const c = (i: number) => fixture.mesh.cluster(i);

  /** PUT one export straight to the broker with cluster-1's real identity, as an attacker holding it would. */
  async function forge(namespace: string, name: string, addresses: string[]): Promise<{ status: number; code: string }> {
    const secret = await c(0).client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
    const pem = (k: string) => Buffer.from(secret.data![k]!, 'base64').toString('utf8');
    const dispatcher = new Agent({ connect: { ca: pem('ca.crt'), cert: pem('tls.crt'), key: pem('tls.key') } });
    try {
      const res = await request(new URL(catalogPaths.export(namespace, name), fixture.mesh.brokerUrl), {
        method: 'PUT', dispatcher, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          cluster: 'cluster-1', namespace, name, createdAt: new Date().toISOString(), type: 'ClusterSetIP',
          ports: [{ name: 'dns', protocol: 'UDP', port: 53 }], endpoints: addresses.map((a) => ({ addresses: [a] })),
        }),
      });
      return { status: res.statusCode, code: ((await res.body.json()) as { error?: { code: string } }).error?.code ?? '' };
    } finally {
      await dispatcher.close();
    }
  }

  it('a member exporting kube-system/kube-dns at 127.0.0.1 and 169.254.169.254 is refused at the broker, its ServiceExport says so, and no cluster imports it', async () => {
    expect(await forge('kube-system', 'kube-dns', ['127.0.0.1', '169.254.169.254'])).toEqual({ status: 403, code: 'PLX_BROKER_EXPORT_PROTECTED_NAMESPACE' });
    expect(await forge('default', 'metadata', ['169.254.169.254'])).toEqual({ status: 422, code: 'PLX_BROKER_EXPORT_ADDRESS_REFUSED' });

    // Through the agent: a ServiceExport in kube-system is refused, and the refusal is on it.
    await createService(c(0), 'kube-system', 'plx-dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }] });
    await setEndpoints(c(0), 'kube-system', 'plx-dns', ['10.1.0.53']);
    await exportService(c(0), 'kube-system', 'plx-dns');
    const ready = await waitFor(async () => {
      const x = cond(await exportConditions(c(0), 'kube-system', 'plx-dns'), 'Ready');
      return x?.status === 'False' ? x : undefined;
    }, { what: 'Ready=False on kube-system/plx-dns' });
    expect(ready.reason).toBe('Failed');
    expect(ready.message).toContain('PLX_BROKER_EXPORT_PROTECTED_NAMESPACE');

    // A later export proves the pipeline moved on; nothing of the refused ones arrived.
    await ensureNamespace(c(0), 'shop');
    await ensureNamespace(c(1), 'shop');
    await createService(c(0), 'shop', 'probe');
    await setEndpoints(c(0), 'shop', 'probe', ['10.1.0.7']);
    await exportService(c(0), 'shop', 'probe');
    await waitFor(async () => (await serviceImport(c(1), 'shop', 'probe'))?.spec.ips?.length, { what: 'probe imported in cluster-2' });
    for (const i of [0, 1]) {
      expect(await serviceImports(c(i), 'kube-system')).toEqual([]);
      expect(await serviceImport(c(i), 'default', 'metadata')).toBeUndefined();
    }
  });

  it('mixing a named and an unnamed port across exports is a PortConflict on both exports, and the derived Service is accepted by the API server', async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), 'shop');
    await createService(c(0), 'shop', 'mixed', { ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] });
    await setEndpoints(c(0), 'shop', 'mixed', ['10.1.0.21']);
    await exportService(c(0), 'shop', 'mixed');
    await waitFor(async () => (await serviceImport(c(1), 'shop', 'mixed'))?.spec.ips?.length, { what: 'mixed imported in cluster-2' });

    await createService(c(1), 'shop', 'mixed', { ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: 8080 }] });
    await setEndpoints(c(1), 'shop', 'mixed', ['10.2.0.21']);
    await exportService(c(1), 'shop', 'mixed');

    for (const i of [0, 1]) {
      const conflict = await waitFor(async () => {
        const x = cond(await exportConditions(c(i), 'shop', 'mixed'), 'Conflict');
        return x?.status === 'True' ? x : undefined;
      }, { what: `Conflict=True on cluster-${i + 1}'s export` });
      expect(conflict.reason).toBe('PortConflict');
    }
    // Both clusters' imports list both sources, and each derived Service has exactly the
    // merged (oldest) port: the API server took it.
    for (const i of [0, 1]) {
      const si = await waitFor(async () => {
        const s = await serviceImport(c(i), 'shop', 'mixed');
        return s?.status?.clusters?.length === 2 && s.spec.ips?.length ? s : undefined;
      }, { what: `mixed in cluster-${i + 1} lists both sources` });
      expect(si.spec.ports).toEqual([expect.objectContaining({ port: 80, protocol: 'TCP' })]);
      const derived = (await c(i).client(CoreV1Api).listNamespacedService({ namespace: 'shop', labelSelector: 'multicluster.kubernetes.io/service-name=mixed' })).items;
      expect(derived).toHaveLength(1);
      expect(derived[0]!.spec!.clusterIP).toBe(si.spec.ips![0]);
      expect(derived[0]!.spec!.ports!.map((p) => [p.name ?? '', p.protocol, p.port])).toEqual([['', 'TCP', 80]]);
    }
  });
});
