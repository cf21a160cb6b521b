// The trust-bundle controller against a real kube-apiserver, authenticated as the agent's
// ServiceAccount bound to exactly deploy/agent/rbac-trust-bundle.yaml (so the RBAC is
// proven sufficient, resourceNames and all): opted-in namespaces get the bundle, others
// do not; a CA rollover (LiveIdentity.update) reaches every ConfigMap; edits are
// corrected; removing the label removes ours; someone else's ConfigMap is left alone and
// reported. The published ca.crt verifies real leaves with `openssl verify`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { createCsr, readCsr } from '../../certs/csr.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { generateKeyPair } from '../../certs/keys.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { TRUST_BUNDLE_CLASH } from '../../agent/controllers/trust-bundle/clash-event.ts';
import { setupTrustBundleController, type TrustBundleController } from '../../agent/controllers/trust-bundle/setup.ts';
import { BUNDLE_KEY, LABEL_TRUST_BUNDLE } from '../../agent/controllers/trust-bundle/trust-bundle-config-map.ts';
import { LiveIdentity } from '../../agent/identity/live-identity.ts';
import { systemClock, systemTimers } from '../../agent/timing/clock.ts';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { TRUST_BUNDLE_CONFIG_MAP } from '../../agent/kube/resources.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
const now = new Date();
const log = pino({ level: process.env.PLEXUS_TEST_LOG ?? 'silent' });

describe('trust bundle ConfigMaps in a member cluster', () => {
  const lab = useClusters(1);
  let dir: string;
  let core: CoreV1Api;
  let kube: KubeAccess;
  let live: LiveIdentity;
  let tb: TrustBundleController;
  let root1: CertificateAuthority;
  let root2: CertificateAuthority;

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await lab.cluster(0).kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** A kubeconfig for the agent's ServiceAccount: only what deploy/ grants it. */
  async function agentKubeConfig(): Promise<KubeConfig> {
    await kubectl(['create', 'namespace', 'plexus-system']);
    await kubectl(['create', 'serviceaccount', 'plexus-agent', '-n', 'plexus-system']);
    await kubectl(['apply', '-f', path.join(repo, 'deploy', 'agent', 'rbac-trust-bundle.yaml')]);
    return lab.cluster(0).serviceAccountKubeConfig('plexus-system', 'plexus-agent');
  }

  const identity = (trustBundle: string) => ({
    clusterId: 'east-1', identity: 'spiffe://acme.example/cluster/east-1', brokerUrl: 'https://broker.invalid',
    certPem: root1.certPem, keyPem: 'unused', trustBundle, notAfter: now.toISOString(),
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'plexus-trust-bundle-'));
    root1 = (await createRootCa({ clusterset: 'acme.example', now })).ca;
    root2 = (await createRootCa({ clusterset: 'acme.example', now, commonName: 'plexus acme.example root 2' })).ca;
    core = lab.cluster(0).client(CoreV1Api);
    for (const [name, labelled] of [['tb-a', true], ['tb-b', true], ['tb-c', false], ['tb-d', true]] as const) {
      await core.createNamespace({ body: { metadata: { name, ...(labelled ? { labels: { [LABEL_TRUST_BUNDLE]: 'enabled' } } : {}) } } });
    }
    // Someone else's ConfigMap of the same name, there before the agent.
    await core.createNamespacedConfigMap({ namespace: 'tb-d', body: { metadata: { name: TRUST_BUNDLE_CONFIG_MAP }, data: { 'ca.crt': 'theirs' } } });
    kube = kubeAccess(await agentKubeConfig(), { logger: log, informerBackoff: { baseMs: 50, maxMs: 500, jitter: 0.2 } });
    live = new LiveIdentity(identity(root1.certPem));
    tb = setupTrustBundleController({
      api: kube.api, informers: kube.informers, identity: live, clusterId: 'east-1', logger: log, clock: systemClock, timers: systemTimers,
      backoff: { baseMs: 50, maxMs: 1000, jitter: 0.2 },
    });
    kube.informers.start();
    await tb.start();
  });

  afterAll(async () => {
    await tb?.stop();
    await kube?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const read = async (ns: string): Promise<V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ namespace: ns, name: TRUST_BUNDLE_CONFIG_MAP });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  const awaitBundle = (ns: string, bundle: string | undefined, what: string) =>
    waitFor(async () => ((await read(ns))?.data?.[BUNDLE_KEY] === bundle ? true : undefined), { what, timeoutMs: 15_000 });

  async function opensslVerify(bundle: string, ca: CertificateAuthority, name: string): Promise<{ status: number | null; out: string }> {
    const keys = await generateKeyPair('P-256');
    const csr = await readCsr(await createCsr({ keys, commonName: name, identity: { trustDomain: 'acme.example', kind: 'cluster', name } }));
    const leaf = await issueCertificate({
      ca, publicKey: csr.publicKey, commonName: name, ...(csr.identity ? { identity: csr.identity } : {}), usages: ['serverAuth', 'clientAuth'], lifetimeSeconds: 3600, now,
    });
    writeFileSync(path.join(dir, 'ca.crt'), bundle);
    writeFileSync(path.join(dir, `${name}.crt`), leaf.certPem);
    const r = spawnSync('openssl', ['verify', '-CAfile', 'ca.crt', `${name}.crt`], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  it('publishes ca.crt in labelled namespaces only, and it verifies a clusterset certificate with openssl', async () => {
    await awaitBundle('tb-a', root1.certPem, 'bundle in tb-a');
    await awaitBundle('tb-b', root1.certPem, 'bundle in tb-b');
    await tb.controller.idle();
    expect(await read('tb-c')).toBeUndefined();
    const cm = (await read('tb-a'))!;
    expect(cm.metadata?.managedFields?.map((f) => f.manager)).toContain('plexus');
    const ok = await opensslVerify(cm.data![BUNDLE_KEY]!, root1, 'east-1');
    expect(ok.out).toContain('east-1.crt: OK');
    expect(ok.status).toBe(0);
    expect((await opensslVerify(cm.data![BUNDLE_KEY]!, root2, 'west-1')).status).not.toBe(0);
  });

  it('carries both roots to every namespace during a CA rollover', async () => {
    const both = TrustBundle.fromPem(root1.certPem + root2.certPem).toPem();
    await live.update({ ...live.current(), trustBundle: both });
    await awaitBundle('tb-a', both, 'rollover bundle in tb-a');
    await awaitBundle('tb-b', both, 'rollover bundle in tb-b');
    const published = (await read('tb-b'))!.data![BUNDLE_KEY]!;
    expect((await opensslVerify(published, root2, 'west-1')).status).toBe(0);
    expect((await opensslVerify(published, root1, 'east-1')).status).toBe(0);
  });

  it('corrects an edit of ca.crt and keeps keys others added', async () => {
    const expected = live.current().trustBundle;
    await kubectl(['patch', 'configmap', TRUST_BUNDLE_CONFIG_MAP, '-n', 'tb-a', '--type', 'merge', '-p', JSON.stringify({ data: { 'ca.crt': 'tampered', extra: 'kept' } })]);
    await awaitBundle('tb-a', expected, 'ca.crt corrected');
    expect((await read('tb-a'))?.data?.extra).toBe('kept');
  });

  it('leaves someone else\'s ConfigMap alone and reports it with a stable reason', async () => {
    const events = await waitFor(async () => {
      const list = JSON.parse(await kubectl(['get', 'events', '-n', 'tb-d', '-o', 'json'])) as { items: { reason?: string; type?: string; involvedObject?: { name?: string } }[] };
      const mine = list.items.filter((e) => e.reason === TRUST_BUNDLE_CLASH);
      return mine.length > 0 ? mine : undefined;
    }, { what: 'clash event in tb-d', timeoutMs: 15_000 });
    expect(events.map((e) => [e.type, e.involvedObject?.name])).toEqual([['Warning', TRUST_BUNDLE_CONFIG_MAP]]);
    await tb.controller.idle();
    expect((await read('tb-d'))?.data).toEqual({ 'ca.crt': 'theirs' });
  });

  it('removes its ConfigMap when the namespace drops the label, and only its own', async () => {
    await kubectl(['label', 'namespace', 'tb-b', `${LABEL_TRUST_BUNDLE}-`]);
    await kubectl(['label', 'namespace', 'tb-d', `${LABEL_TRUST_BUNDLE}-`]);
    await awaitBundle('tb-b', undefined, 'ConfigMap gone from tb-b');
    await tb.controller.idle();
    expect((await read('tb-d'))?.data).toEqual({ 'ca.crt': 'theirs' });
    expect(await read('tb-a')).toBeDefined();
  });
});
