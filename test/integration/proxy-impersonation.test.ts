// kubectl --as through the access proxy against a real kube-apiserver: the proxy asks the
// API server (SubjectAccessReview, as the person) exactly what the API server itself checks
// for each impersonated attribute — serviceaccounts in <ns> for system:serviceaccount:<ns>:<n>,
// groups, uids and userextras/<key> — and a header named in Connection is hop-by-hop, never
// impersonation. The proxy runs in process with the cluster's admin credentials upstream, as
// an agent with a cluster-admin kubeconfig does, so the proxy's own check is the only gate.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { SubjectAccessReviewer } from '../../agent/proxy/access-review.ts';
import { ProxyAuthenticator } from '../../agent/proxy/authn.ts';
import { RevokedUsers } from '../../agent/proxy/revoked-users.ts';
import { AccessProxy } from '../../agent/proxy/server.ts';
import { kubeConfigUpstream } from '../../agent/proxy/upstream.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { useClusters } from '../harness/use-clusters.ts';

const clusterset = 'acme.example';
const SERVER_NAME = 'east-1.cluster.acme.example';
const SA = 'system:serviceaccount:kube-system:plexus-it-admin';
const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';

interface Person { name: string; certPem: string; keyPem: string; kubeconfig: string }
interface UserInfo { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }

const rbac = (o: { name: string; person: string; namespace?: string; rules: unknown[] }) => {
  const ns = o.namespace ? { namespace: o.namespace } : {};
  const [role, binding] = o.namespace ? ['Role', 'RoleBinding'] : ['ClusterRole', 'ClusterRoleBinding'];
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: role, metadata: { name: o.name, ...ns }, rules: o.rules },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: binding, metadata: { name: o.name, ...ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role, name: o.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `plexus:${o.person}` }] },
  ];
};

describe('kubectl --as through the access proxy, checked as the API server checks it', () => {
  const lab = useClusters(1);
  const dir = mkdtempSync(path.join(tmpdir(), 'plexus-proxy-as-'));
  const people = new Map<string, Person>();
  let proxy: AccessProxy;
  let caPem: string;
  let proxyUrl: URL;

  beforeAll(async () => {
    const { ca } = await createRootCa({ clusterset, now: new Date(Date.now() - 120_000) });
    caPem = ca.certPem;
    const issue = async (cn: string, o: { user?: string; groups?: string[]; dns?: string[]; usages: ('serverAuth' | 'clientAuth')[] }) => {
      const keys = await generateKeyPair();
      const issued = await issueCertificate({
        ca, publicKey: keys.publicKey, commonName: cn, organizations: o.groups ?? [], usages: o.usages, lifetimeSeconds: 3600, now: new Date(),
        ...(o.user ? { identity: { trustDomain: clusterset, kind: 'user' as const, name: o.user } } : {}), ...(o.dns ? { dnsNames: o.dns } : {}),
      });
      return { certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
    };
    const revoked = new RevokedUsers();
    revoked.applyList([], new Date());
    const kc = new KubeConfig();
    kc.loadFromFile(lab.cluster(0).kubeconfigPath);
    const upstream = await kubeConfigUpstream(kc);
    proxy = new AccessProxy({
      listen: { host: '127.0.0.1', port: 0 }, tls: await issue('east-1', { dns: [SERVER_NAME], usages: ['serverAuth', 'clientAuth'] }), trustBundlePem: ca.certPem,
      authn: new ProxyAuthenticator({ trustBundle: TrustBundle.fromPem(ca.certPem), clusterset, now: () => new Date(), revoked, maxStalenessMs: 3_600_000 }),
      upstream, review: new SubjectAccessReviewer(upstream), audit: pino({ level: 'silent' }),
    });
    proxyUrl = new URL(await proxy.start());
    for (const name of ['dana', 'erin', 'frank']) {
      const id = await issue(name, { user: name, groups: ['dev'], usages: ['clientAuth'] });
      const kubeconfig = path.join(dir, `${name}.kubeconfig`);
      writeFileSync(kubeconfig, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'p',
        clusters: [{ name: 'p', cluster: { server: proxyUrl.origin, 'certificate-authority-data': Buffer.from(caPem).toString('base64'), 'tls-server-name': SERVER_NAME } }],
        users: [{ name, user: { 'client-certificate-data': Buffer.from(id.certPem).toString('base64'), 'client-key-data': Buffer.from(id.keyPem).toString('base64') } }],
        contexts: [{ name: 'p', context: { cluster: 'p', user: name } }],
      }));
      people.set(name, { name, ...id, kubeconfig });
    }
    // A cluster-admin service account; dana may impersonate users (any), erin only that
    // service account, frank users, the group ops, the uid u-1 and the extra scopes=view.
    const objects = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'plexus-it-admin', namespace: 'kube-system' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'plexus-it-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'plexus-it-admin', namespace: 'kube-system' }] },
      ...rbac({ name: 'dana-impersonates-users', person: 'dana', rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }] }),
      ...rbac({ name: 'erin-impersonates-sa', person: 'erin', namespace: 'kube-system',
        rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['plexus-it-admin'] }] }),
      ...rbac({ name: 'frank-impersonates', person: 'frank', rules: [
        { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] },
        { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['ops'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['uids'], verbs: ['impersonate'], resourceNames: ['u-1'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], verbs: ['impersonate'], resourceNames: ['view'] },
      ] }),
    ];
    const applied = await lab.cluster(0).kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    expect(applied.code, applied.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await proxy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The real kubectl as `who`, through the proxy. */
  function kubectl(who: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = people.get(who)!;
    const child = spawn(resolveBinaries().kubectl, ['--kubeconfig', p.kubeconfig, '--cache-dir', path.join(dir, `${who}-cache`), '--request-timeout', '20s', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    return once(child, 'close').then(([code]) => ({ code: (code as number | null) ?? 128, stdout, stderr }));
  }

  async function whoamiAs(who: string, as: string[]): Promise<UserInfo | string> {
    const r = await kubectl(who, [...as, 'auth', 'whoami', '-o', 'json']);
    if (r.code !== 0) return r.stderr;
    return (JSON.parse(r.stdout) as { status: { userInfo: UserInfo } }).status.userInfo;
  }

  /** What kubectl says when `who` reads a namespace with `as` (raw: `auth whoami` and discovery hide the proxy's message). */
  async function refusalAs(who: string, as: string[]): Promise<string> {
    const r = await kubectl(who, [...as, 'get', '--raw', '/api/v1/namespaces/default']);
    return r.code === 0 ? `allowed: ${r.stdout}` : r.stderr;
  }

  /** POST a SelfSubjectReview through the proxy with exactly these headers (no kubectl): who the API server saw. */
  async function whoamiRaw(who: string, headers: Record<string, string | string[]>): Promise<{ status: number; code?: string; user?: UserInfo }> {
    const p = people.get(who)!;
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    const req = https.request({
      host: proxyUrl.hostname, port: proxyUrl.port, path: WHOAMI, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      ca: caPem, cert: p.certPem, key: p.keyPem, servername: SERVER_NAME, minVersion: 'TLSv1.3',
    });
    req.end(body);
    const [res] = await once(req, 'response') as [IncomingMessage];
    let text = '';
    for await (const c of res) text += c.toString();
    const code = res.headers['x-plexus-error'] as string | undefined;
    return { status: res.statusCode ?? 0, ...(code ? { code } : {}), ...(res.statusCode === 201 ? { user: (JSON.parse(text) as { status: { userInfo: UserInfo } }).status.userInfo } : {}) };
  }

  // The proxy asked about `users` for every --as; the API server checks `serviceaccounts` in
  // <ns> for system:serviceaccount:<ns>:<name>, so impersonate on users alone became a
  // cluster-admin service account through the proxy.
  it('impersonate on users only does not let a person --as a service account (serviceaccounts in <ns> is checked)', async () => {
    expect(await refusalAs('dana', ['--as', SA])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    const secrets = await kubectl('dana', ['--as', SA, 'get', '--raw', '/api/v1/namespaces/kube-system/secrets']);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    // Users are still users: dana may be bob.
    expect(await whoamiAs('dana', ['--as', 'bob'])).toMatchObject({ username: 'bob' });
  });

  it('impersonate on that service account in its namespace lets a person --as it, and nothing else', async () => {
    expect(await whoamiAs('erin', ['--as', SA])).toMatchObject({ username: SA, groups: expect.arrayContaining(['system:serviceaccounts:kube-system']) });
    expect(await refusalAs('erin', ['--as', 'system:serviceaccount:kube-system:default'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(await refusalAs('erin', ['--as', 'bob'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
  });

  it('checks each --as-group on groups and --as-uid on uids', async () => {
    expect(await refusalAs('dana', ['--as', 'bob', '--as-group', 'ops'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(await whoamiAs('frank', ['--as', 'bob', '--as-group', 'ops'])).toMatchObject({ username: 'bob', groups: expect.arrayContaining(['ops']) });
    expect(await refusalAs('frank', ['--as', 'bob', '--as-group', 'ops', '--as-group', 'system:masters'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(await refusalAs('dana', ['--as', 'bob', '--as-uid', 'u-1'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(await whoamiAs('frank', ['--as', 'bob', '--as-uid', 'u-1'])).toMatchObject({ username: 'bob', uid: 'u-1' });
    expect(await refusalAs('frank', ['--as', 'bob', '--as-uid', 'u-2'])).toContain('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
  });

  it('checks each Impersonate-Extra-<key> value on userextras/<key>', async () => {
    expect(await whoamiRaw('frank', { 'Impersonate-User': 'bob', 'Impersonate-Extra-Scopes': 'view' })).toMatchObject({ status: 201, user: { username: 'bob', extra: { scopes: ['view'] } } });
    expect(await whoamiRaw('frank', { 'Impersonate-User': 'bob', 'Impersonate-Extra-Scopes': ['view', 'admin'] })).toMatchObject({ status: 403, code: 'PLX_AGENT_PROXY_IMPERSONATION_REFUSED' });
    expect(await whoamiRaw('frank', { 'Impersonate-User': 'bob', 'Impersonate-Extra-Other': 'view' })).toMatchObject({ status: 403, code: 'PLX_AGENT_PROXY_IMPERSONATION_REFUSED' });
    expect(await whoamiRaw('dana', { 'Impersonate-User': 'bob', 'Impersonate-Extra-Scopes': 'view' })).toMatchObject({ status: 403, code: 'PLX_AGENT_PROXY_IMPERSONATION_REFUSED' });
  });

  // `Connection: Impersonate-User` makes Impersonate-User hop-by-hop (RFC 9110 §7.6.1), but the
  // proxy read it as kubectl --as before dropping it, and forwarded it.
  it('a header named in Connection is hop-by-hop: Connection: Impersonate-User plus Impersonate-User runs as the person, not as --as', async () => {
    const seen = await whoamiRaw('dana', { Connection: 'Impersonate-User', 'Impersonate-User': SA });
    expect(seen).toMatchObject({ status: 201, user: { username: 'plexus:dana', groups: expect.arrayContaining(['plexus:dev']) } });
    const group = await whoamiRaw('erin', { Connection: 'close, impersonate-group', 'Impersonate-Group': 'system:masters' });
    expect(group.user?.groups).not.toContain('system:masters');
    expect(group).toMatchObject({ status: 201, user: { username: 'plexus:erin' } });
  });
});
