// The trust bundle ConfigMap through a CA rollover, end to end: a real broker process, a
// real `plexus agent run` and the real CLI (`plexus broker ca rotate`). A labelled
// namespace holds the clusterset root; during the rollover it holds both roots; afterwards
// only the new one. At each step the agent's own current certificate (from its identity
// Secret) verifies against the published ca.crt with `openssl verify`, which is what a
// workload trusting that ConfigMap would check.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { CaRotateResponse, CaStatus } from '../../broker/api/ca.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { plexus } from '../support/plexus-process.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('trust bundle ConfigMap across a CA rollover', () => {
  const fixture = useMesh({ clusters: 1, agentArgs: () => ['--trust-bundle-refresh', '200'] });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-e2e-trust-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const admin = () => ['--data-dir', fixture.mesh.brokerDir, '--output', 'json'];
  const status = async () => JSON.parse(await plexus(['broker', 'ca', 'status', ...admin()])) as CaStatus;
  const rotate = async (phase: number, force = false) =>
    JSON.parse(await plexus(['broker', 'ca', 'rotate', '--phase', String(phase), ...(force ? ['--force'] : []), ...admin()])) as CaRotateResponse;
  const core = () => fixture.mesh.cluster(0).client(CoreV1Api);

  async function published(): Promise<string[]> {
    const cm = await core().readNamespacedConfigMap({ namespace: 'app', name: 'plexus-trust-bundle' }).catch(() => undefined);
    const pem = cm?.data?.['ca.crt'];
    return pem ? TrustBundle.fromPem(pem).fingerprints().sort() : [];
  }

  /** `openssl verify` of the agent's current certificate against the published ca.crt. */
  async function agentCertVerifies(): Promise<string> {
    const cm = await core().readNamespacedConfigMap({ namespace: 'app', name: 'plexus-trust-bundle' });
    const secret = await core().readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
    writeFileSync(path.join(dir, 'ca.crt'), cm.data!['ca.crt']!);
    writeFileSync(path.join(dir, 'agent.crt'), Buffer.from(secret.data!['tls.crt']!, 'base64'));
    const r = spawnSync('openssl', ['verify', '-CAfile', 'ca.crt', 'agent.crt'], { cwd: dir, encoding: 'utf8' });
    return `${r.status} ${r.stdout.trim()} ${r.stderr.trim()}`.trim();
  }

  it('holds the old root, then both, then only the new one; the agent\'s certificate verifies against it throughout', async () => {
    await core().createNamespace({ body: { metadata: { name: 'app', labels: { 'plexus.io/trust-bundle': 'enabled' } } } });
    const before = await status();
    const oldFp = before.bundleFingerprints[0]!;
    await waitFor(async () => ((await published()).join() === oldFp ? true : undefined), { what: 'the root published in app', timeoutMs: 60_000 });
    expect(await agentCertVerifies()).toBe('0 agent.crt: OK');

    const p1 = await rotate(1);
    const newFp = p1.status.roots.find((r) => r.role === 'new')!.fingerprint;
    await waitFor(async () => ((await published()).join() === [oldFp, newFp].sort().join() ? true : undefined), { what: 'both roots published', timeoutMs: 60_000 });
    await rotate(2, true);
    await rotate(3);
    await waitFor(async () => ((await status()).clusters.every((x) => x.issuer === newFp) ? true : undefined), { what: 'the agent re-issued from the new root', timeoutMs: 60_000 });
    expect(await agentCertVerifies()).toBe('0 agent.crt: OK');

    await rotate(4, true);
    await rotate(5);
    await waitFor(async () => ((await published()).join() === newFp ? true : undefined), { what: 'only the new root published', timeoutMs: 60_000 });
    expect(await agentCertVerifies()).toBe('0 agent.crt: OK');
  }, 240_000);
});
