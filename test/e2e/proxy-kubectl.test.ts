// kubectl through one shared identity, end to end: three real control planes, a real
// broker and three `plexus agent run` processes (each with its access proxy), people
// invited and logged in through the real CLI, and the real kubectl using the kubeconfig
// `plexus kubeconfig` wrote. Covers identical RBAC answers in every cluster, a person
// granted nothing, streaming watches, revocation, smuggled impersonation headers, and
// expired and foreign certificates.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, loadYaml } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterServerName } from '../../broker/api/advertisement.ts';
import { createRootCa, loadCa, type CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { plexus, runPlexus } from '../support/plexus-process.ts';
import { ensureNamespace } from './support/objects.ts';
import { kubectlAs, loginPerson, type Person } from './support/people.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const kubectlBin = resolveBinaries().kubectl;
const CLUSTERSET = 'e2e.plexus.local';

describe('kubectl through one shared identity', () => {
  const fixture = useMesh({ clusters: 3 });
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-people-'));
  const people = new Map<string, Person>();
  const contexts = ['cluster-1', 'cluster-2', 'cluster-3'].map((c) => `plexus-${c}`);

  async function person(name: string, groups: string[]): Promise<Person> {
    const p = await loginPerson(fixture.mesh, name, groups, path.join(home, name));
    people.set(name, p);
    return p;
  }

  beforeAll(async () => {
    for (const c of fixture.mesh.clusters) {
      // What the RBAC baseline would bind: the prefixed group plexus:dev may read. (The
      // built-in `view` is aggregated by kube-controller-manager, which bare control planes lack.)
      const rbac = c.client(RbacAuthorizationV1Api);
      await rbac.createClusterRole({ body: {
        metadata: { name: 'plexus-e2e-read' },
        rules: [{ apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list', 'watch'] }],
      } });
      await rbac.createClusterRoleBinding({ body: {
        metadata: { name: 'plexus-dev-read' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plexus-e2e-read' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }],
      } });
      await ensureNamespace(c, 'team');
    }
    await person('dana', ['dev']);
    await person('nobody', []);
  }, 240_000);

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('writes one context per cluster, verified as the cluster name, with the certificate by path', () => {
    const doc = readFileSync(people.get('dana')!.kubeconfig, 'utf8');
    for (const c of ['cluster-1', 'cluster-2', 'cluster-3']) expect(doc).toContain(`tls-server-name: ${clusterServerName(c, CLUSTERSET)}`);
    expect(doc).toContain(path.join(people.get('dana')!.dir, 'user.crt'));
    expect(doc).not.toContain('client-certificate-data');
  });

  it('gives a person in a granted group the same `auth can-i` answers in every cluster', async () => {
    const dana = people.get('dana')!;
    const questions = [['list', 'pods', '-n', 'team'], ['get', 'configmaps', '-n', 'default'], ['create', 'pods', '-n', 'team'], ['delete', 'nodes'], ['impersonate', 'users']];
    const answers = await Promise.all(contexts.map(async (ctx) => Promise.all(questions.map(async (q) => {
      const r = await kubectlAs(dana, ['--context', ctx, 'auth', 'can-i', ...q]);
      return r.stdout.trim();
    }))));
    expect(answers[0]).toEqual(['yes', 'yes', 'no', 'no', 'no']);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    const whoami = await kubectlAs(dana, ['--context', contexts[1]!, 'auth', 'whoami', '-o', 'json']);
    const info = JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(info.status.userInfo.username).toBe('plexus:dana');
    expect(info.status.userInfo.groups).toContain('plexus:dev');
    expect(info.status.userInfo.groups.filter((g) => g.startsWith('system:') && g !== 'system:authenticated')).toEqual([]);
  });

  it('refuses a person granted nothing with 403 in every cluster', async () => {
    const nobody = people.get('nobody')!;
    for (const ctx of contexts) {
      const r = await kubectlAs(nobody, ['--context', ctx, 'get', 'pods', '-n', 'team']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/forbidden/i);
      expect((await kubectlAs(nobody, ['--context', ctx, 'auth', 'can-i', 'list', 'pods', '-n', 'team'])).stdout.trim()).toBe('no');
    }
  });

  it('streams `kubectl get pods -w` through the proxy: a pod created after the watch starts arrives', async () => {
    const dana = people.get('dana')!;
    const c2 = fixture.mesh.cluster('cluster-2');
    const pod = (name: string) => c2.client(CoreV1Api).createNamespacedPod({ namespace: 'team', body: {
      metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }], automountServiceAccountToken: false },
    } });
    await pod('before');
    const child = spawn(kubectlBin, ['--kubeconfig', dana.kubeconfig, '--cache-dir', path.join(dana.dir, 'kube-cache'), '--context', 'plexus-cluster-2',
      'get', 'pods', '-n', 'team', '-w', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      // kubectl lists first (pod/before), then watches from the list's resourceVersion.
      await waitFor(async () => out.includes('pod/before'), { what: 'kubectl listed the namespace' });
      const started = Date.now();
      await pod('watched');
      await waitFor(async () => out.includes('pod/watched'), { what: 'the new pod arrives on the watch', timeoutMs: 15_000 });
      console.log(`[e2e] watch event through the proxy arrived ${Date.now() - started} ms after the create`);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });

  async function direct(ctx: string, identity: { certPem: string; keyPem: string }, headers: Record<string, string | string[]> = {}) {
    const p = people.get('dana')!;
    const doc = loadYaml<{ clusters: { name: string; cluster: { server: string } }[] }>(readFileSync(p.kubeconfig, 'utf8'));
    const server = doc.clusters.find((c) => c.name === ctx)!.cluster.server;
    const dispatcher = new Agent({ connect: { ca: readFileSync(path.join(p.dir, 'ca.crt')), cert: identity.certPem, key: identity.keyPem, servername: clusterServerName(ctx.replace('plexus-', ''), CLUSTERSET) } });
    try {
      const res = await request(new URL('/api/v1/namespaces/team/pods', server), { dispatcher, headers });
      await res.body.text();
      return { status: res.statusCode, code: res.headers['x-plexus-error'] };
    } finally {
      await dispatcher.close();
    }
  }

  const danaIdentity = () => ({ certPem: readFileSync(path.join(people.get('dana')!.dir, 'user.crt'), 'utf8'), keyPem: readFileSync(path.join(people.get('dana')!.dir, 'user.key'), 'utf8') });

  it('refuses requests that smuggle impersonation headers, however they are spelled', async () => {
    const dana = people.get('dana')!;
    const as = await kubectlAs(dana, ['--context', 'plexus-cluster-1', '--as', 'system:admin', 'get', 'pods', '-n', 'team']);
    expect(as.code).not.toBe(0);
    expect(as.stderr).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    const smuggled: Record<string, string>[] = [{ 'impersonate-group': 'system:masters' }, { 'IMPERSONATE-USER': 'admin' }, { 'Impersonate-Extra-Scopes': 'x' }, { 'Impersonate-Uid': '0' }];
    for (const headers of smuggled) {
      expect(await direct('plexus-cluster-1', danaIdentity(), headers)).toEqual({ status: 403, code: 'PLX_AGENT_PROXY_IMPERSONATION_REFUSED' });
    }
    expect((await direct('plexus-cluster-1', danaIdentity())).status).toBe(200);
  });

  it('lets kubectl --as through only where the person\'s own RBAC permits that impersonation', async () => {
    const dana = people.get('dana')!;
    const mayImpersonateBob = [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'impersonate-bob' },
        rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['bob'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'dana-impersonates-bob' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'impersonate-bob' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'plexus:dana' }] },
    ];
    for (const c of fixture.mesh.clusters) {
      expect((await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: mayImpersonateBob }) })).code).toBe(0);
    }
    for (const ctx of contexts) {
      const who = await kubectlAs(dana, ['--context', ctx, '--as', 'bob', 'auth', 'whoami', '-o', 'json']);
      expect(who.code).toBe(0);
      expect((JSON.parse(who.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe('bob');
      const carol = await kubectlAs(dana, ['--context', ctx, '--as', 'carol', 'get', 'pods', '-n', 'team']);
      expect(carol.code).not.toBe(0);
      expect(carol.stderr).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    }
  });

  it('refuses an expired certificate and one from a foreign CA', async () => {
    const brokerCa: CertificateAuthority = await loadCa(
      readFileSync(path.join(fixture.mesh.brokerDir, 'ca', 'root.crt'), 'utf8'), readFileSync(path.join(fixture.mesh.brokerDir, 'ca', 'root.key'), 'utf8'));
    const { ca: foreign } = await createRootCa({ clusterset: CLUSTERSET, now: new Date() });
    const make = async (ca: CertificateAuthority, now: Date, lifetimeSeconds = 600) => {
      const keys = await generateKeyPair();
      const issued = await issueCertificate({ ca, publicKey: keys.publicKey, commonName: 'dana', organizations: ['dev'],
        identity: { trustDomain: CLUSTERSET, kind: 'user', name: 'dana' }, usages: ['clientAuth'], lifetimeSeconds, now });
      return { certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
    };
    // Valid for one second right after the root was made, minutes ago.
    const expired = await make(brokerCa, new Date(brokerCa.cert.notBefore.getTime() + 61_000), 1);
    const alien = await make(foreign, new Date());
    for (const ctx of contexts) {
      expect(await direct(ctx, expired)).toEqual({ status: 401, code: 'PLX_AGENT_PROXY_CERT_EXPIRED' });
      expect(await direct(ctx, alien)).toEqual({ status: 401, code: 'PLX_AGENT_PROXY_CERT_UNTRUSTED' });
    }
  });

  it('refuses a revoked person in every cluster right after `plexus broker user revoke`', async () => {
    const eve = await person('eve', ['dev']);
    for (const ctx of contexts) expect((await kubectlAs(eve, ['--context', ctx, 'get', 'pods', '-n', 'team'])).code).toBe(0);
    await plexus(['broker', 'user', 'revoke', 'eve', '--data-dir', fixture.mesh.brokerDir]);
    const revokedAt = Date.now();
    const identity = { certPem: readFileSync(path.join(eve.dir, 'user.crt'), 'utf8'), keyPem: readFileSync(path.join(eve.dir, 'user.key'), 'utf8') };
    for (const ctx of contexts) {
      await waitFor(async () => (await direct(ctx, identity)).code === 'PLX_AGENT_PROXY_USER_REVOKED', { what: `${ctx} refuses eve`, timeoutMs: 5_000 });
    }
    console.log(`[e2e] revocation reached all three proxies within ${Date.now() - revokedAt} ms`);
    for (const ctx of contexts) expect((await kubectlAs(eve, ['--context', ctx, 'get', 'pods', '-n', 'team'])).code).not.toBe(0);
    const renew = await runPlexus(['login', '--renew', '--config-dir', eve.dir]);
    expect(renew.code).not.toBe(0);
    expect(renew.stderr).toContain('PLX_BROKER_USER_REVOKED');
  });
});
