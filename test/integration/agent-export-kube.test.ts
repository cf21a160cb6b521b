// agent/kube/ against a real kube-apiserver: informers list, watch, index and survive an
// API-server restart; server-side apply as `plexus`; status writes only when changed.
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { CLUSTER_PROPERTIES, ENDPOINT_SLICES, INDEX_SERVICE_NAME, SERVICES, SERVICE_EXPORTS } from '../../agent/kube/resources.ts';
import type { ServiceExport } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('agent/kube on a real API server', () => {
  const lab = useClusters(1);
  let kube: KubeAccess;

  beforeAll(async () => {
    kube = kubeAccess(lab.cluster(0).kubeConfig, { logger: pino({ level: 'silent' }), informerBackoff: { baseMs: 50, maxMs: 500, jitter: 0.2 } });
    await lab.cluster(0).client(CoreV1Api).createNamespace({ body: { metadata: { name: 'kube-it' } } });
  });
  afterAll(async () => {
    await kube?.informers.stop();
  });

  it('lists, watches and indexes; keeps watching across an API-server restart', async () => {
    const core = lab.cluster(0).client(CoreV1Api);
    await core.createNamespacedService({ namespace: 'kube-it', body: { metadata: { name: 'before' }, spec: { ports: [{ port: 80 }] } } });
    const mine = kube.informers.declare('test', [SERVICES, ENDPOINT_SLICES]);
    kube.informers.start();
    await mine.waitForSync();
    expect(mine.get(SERVICES).get('kube-it', 'before')?.spec?.ports?.[0]?.port).toBe(80);

    const seen: string[] = [];
    mine.get(SERVICES).onChange((s) => seen.push(s.metadata!.name!));
    await core.createNamespacedService({ namespace: 'kube-it', body: { metadata: { name: 'after' }, spec: { ports: [{ port: 81 }] } } });
    await waitFor(() => seen.includes('after'), { what: 'watch event', timeoutMs: 10_000 });

    await kube.api.apply(ENDPOINT_SLICES, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { namespace: 'kube-it', name: 'after-1', labels: { 'kubernetes.io/service-name': 'after' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }], ports: [{ port: 8080, protocol: 'TCP' }],
    } as never);
    await waitFor(() => mine.get(ENDPOINT_SLICES).byIndex(INDEX_SERVICE_NAME, 'kube-it/after').length === 1, { what: 'indexed slice', timeoutMs: 10_000 });

    await lab.cluster(0).restartApiServer();
    await core.createNamespacedService({ namespace: 'kube-it', body: { metadata: { name: 'restarted' }, spec: { ports: [{ port: 82 }] } } });
    await waitFor(() => mine.get(SERVICES).get('kube-it', 'restarted') !== undefined, { what: 'event after restart', timeoutMs: 60_000 });
  });

  it('server-side applies as plexus and writes status only when it changed', async () => {
    const cp = await kube.api.apply(CLUSTER_PROPERTIES, { metadata: { name: 'kube-it.example' }, spec: { value: 'v1' } });
    expect(cp.metadata?.managedFields?.map((f) => f.manager)).toContain('plexus');
    expect((await kube.api.get(CLUSTER_PROPERTIES, { name: 'kube-it.example' }))?.spec.value).toBe('v1');
    expect(await kube.api.delete(CLUSTER_PROPERTIES, { name: 'kube-it.example' })).toBe(true);
    expect(await kube.api.delete(CLUSTER_PROPERTIES, { name: 'kube-it.example' })).toBe(false);

    await kube.api.apply(SERVICE_EXPORTS, { metadata: { namespace: 'kube-it', name: 'se' } } as ServiceExport);
    const current = (await kube.api.get(SERVICE_EXPORTS, { namespace: 'kube-it', name: 'se' }))!;
    const status = { conditions: [{ type: 'Valid', status: 'True', reason: 'Valid', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } as unknown as NonNullable<ServiceExport['status']>;
    expect(await kube.status.apply(SERVICE_EXPORTS, current, status)).toBe(true);
    const after = (await kube.api.get(SERVICE_EXPORTS, { namespace: 'kube-it', name: 'se' }))!;
    expect(after.status).toEqual(status);
    expect(await kube.status.apply(SERVICE_EXPORTS, after, status)).toBe(false);
  });
});
