// Informers catch up within seconds of a long kube-apiserver outage (agent/kube/
// informer-registry.ts). Against a real kube-apiserver stopped until the informers' restart
// delay has grown to its cap: without the readiness probe, a change made right after the
// server returned was seen only when that capped delay ran out (19–45 s with the 30 s
// default cap). The cap is that 30 s here too, so however long the harness takes to start
// the server again (5–15 s on a loaded machine), the old code's next restart is still
// seconds away when the change is made; the base is 1 s and the probe runs every 250 ms.
import type { V1Namespace } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { NAMESPACES } from '../../agent/kube/resources.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

const CAP_MS = 30_000;

describe('informer recovery after a long API-server outage', () => {
  const lab = useClusters(1);
  let kube: KubeAccess | undefined;
  const retries: number[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => {
    const rec = JSON.parse(line) as { msg?: string; retryInMs?: number };
    if (rec.msg === 'list/watch failed; restarting' && rec.retryInMs !== undefined) retries.push(rec.retryInMs);
  } });

  afterAll(async () => {
    await kube?.close();
  });

  it('slow catch-up after a long API-server outage: a change made right after the server returned is seen within a few seconds, not after the capped backoff', async () => {
    const cluster = lab.cluster(0);
    kube = kubeAccess(cluster.kubeConfig, { logger, informerBackoff: { baseMs: 1000, maxMs: CAP_MS, jitter: 0 }, apiServerProbeIntervalMs: 250 });
    const namespaces = kube.informers.declare('test', [NAMESPACES]).get(NAMESPACES);
    kube.informers.start();
    await namespaces.waitForSync();

    await cluster.stopApiServer();
    // Down until the restart delay has reached its cap (1 + 2 + 4 + 8 + 16 s of failures).
    await waitFor(async () => (retries.some((ms) => ms >= CAP_MS) ? true : undefined), { what: 'informer backoff at its cap', timeoutMs: 60_000, intervalMs: 100 });
    await cluster.startApiServer();
    const backAt = Date.now();

    const name = `after-outage-${Date.now()}`;
    await kube.api.apply<V1Namespace>(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const createdAt = Date.now();
    await waitFor(async () => (namespaces.get(undefined, name) ? true : undefined), { what: `namespace ${name} in the informer`, timeoutMs: CAP_MS + 10_000, intervalMs: 50 });
    const lagMs = Date.now() - createdAt;
    console.log(`[informer-recovery] change seen ${lagMs} ms after it was made, ${Date.now() - backAt} ms after the API server returned`);
    expect(lagMs).toBeLessThan(5_000);
  }, 120_000);
});
