// `plexus agent join` as a real process, against a real broker over TLS 1.3 and a real
// kube-apiserver: the identity lands in a kubernetes.io/tls Secret (read back with the
// real kubectl) or a 0600 file, the broker is pinned by fingerprint, and every failure
// leaves the token usable and nothing stored.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { runPlexus } from '../support/plexus-process.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdentity } from '../../certs/identity.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { paths } from '../../broker/api/types.ts';
import { writeKubeconfig } from '../harness/kubeconfig.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { createToken, startTestBroker, type TestBroker } from './support/broker-fixture.ts';


const plexus = (args: string[]) => runPlexus(args);


describe('plexus agent join', () => {
  const lab = useClusters(1);
  let broker: TestBroker;
  let fingerprint: string;
  let scratch: string;

  beforeAll(async () => {
    broker = await startTestBroker();
    fingerprint = fingerprintSha256(broker.caPem);
    scratch = mkdtempSync(join(tmpdir(), 'plexus-join-it-'));
    await lab.cluster(0).client(CoreV1Api).createNamespace({ body: { metadata: { name: 'plexus-system' } } });
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const joinArgs = (token: string, clusterId: string, extra: string[]) =>
    ['agent', 'join', '--broker', broker.url, '--token', token, '--cluster-id', clusterId, '--ca-fingerprint', fingerprint, '--output', 'json', ...extra];

  async function tokenState(id: string): Promise<string> {
    const r = await broker.call(paths.adminTokens, { identity: broker.admin });
    return (r.body as { tokens: { id: string; state: string }[] }).tokens.find((t) => t.id === id)!.state;
  }

  it('stores a verified identity in a kubernetes.io/tls Secret, and a second run changes nothing', async () => {
    const cluster = lab.cluster(0);
    const { token, id } = await createToken(broker, 'east-1');
    const run = await plexus(joinArgs(token, 'east-1', ['--kubeconfig', cluster.kubeconfigPath]));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'joined', identity: 'spiffe://acme.example/cluster/east-1' });
    expect(await tokenState(id)).toBe('used');

    const got = await cluster.kubectl(['get', 'secret', '-n', 'plexus-system', 'plexus-agent-identity', '-o', 'json']);
    expect(got.code).toBe(0);
    const secret = JSON.parse(got.stdout) as { type: string; data: Record<string, string>; metadata: { resourceVersion: string; annotations: Record<string, string> } };
    expect(secret.type).toBe('kubernetes.io/tls');
    const decode = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8');
    const bundle = TrustBundle.fromPem(decode('ca.crt'));
    expect(bundle.has(fingerprint)).toBe(true);
    const leaf = await verifyLeaf({ certPem: decode('tls.crt'), bundle, now: new Date(), usage: 'clientAuth', trustDomain: 'acme.example' });
    expect(leaf.identity).toEqual(parseIdentity('spiffe://acme.example/cluster/east-1'));
    expect(secret.metadata.annotations['plexus.io/cluster-id']).toBe('east-1');
    // The key in the Secret is the one the certificate was issued for.
    const { createPrivateKey, createPublicKey, X509Certificate } = await import('node:crypto');
    const certKey = new X509Certificate(decode('tls.crt')).publicKey.export({ type: 'spki', format: 'der' });
    const ownKey = createPublicKey(createPrivateKey(decode('tls.key'))).export({ type: 'spki', format: 'der' });
    expect(Buffer.compare(certKey, ownKey)).toBe(0);

    const again = await plexus(joinArgs(token, 'east-1', ['--kubeconfig', cluster.kubeconfigPath]));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'already-joined' });
    const after = JSON.parse((await cluster.kubectl(['get', 'secret', '-n', 'plexus-system', 'plexus-agent-identity', '-o', 'json'])).stdout) as typeof secret;
    expect(after.metadata.resourceVersion).toBe(secret.metadata.resourceVersion);
  });

  it('stores the identity in a 0600 file under a 0700 data dir', async () => {
    const { token } = await createToken(broker, 'west-1');
    const dataDir = join(scratch, 'west-1');
    const run = await plexus(joinArgs(token, 'west-1', ['--data-dir', dataDir]));
    expect(run.code).toBe(0);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(join(dataDir, 'identity.json'), 'utf8')) as { identity: string; keyPem: string };
    expect(stored.identity).toBe('spiffe://acme.example/cluster/west-1');
    expect(stored.keyPem).toContain('PRIVATE KEY');
  });

  it('refuses a broker that does not present the pinned root, before sending the token', async () => {
    const { token, id } = await createToken(broker, 'pin-1');
    const wrong = `sha256:${'ab'.repeat(32)}`;
    const args = joinArgs(token, 'pin-1', ['--data-dir', join(scratch, 'pin-1')]).map((a) => (a === fingerprint ? wrong : a));
    const run = await plexus(args);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PLX_AGENT_CA_PIN_MISMATCH');
    expect(await tokenState(id)).toBe('pending');
  });

  /** A kubeconfig for user `name` (a client certificate of the cluster's CA), with the cluster-wide rules given, if any. */
  async function userKubeconfig(name: string, rules: object[]): Promise<string> {
    const cluster = lab.cluster(0);
    const creds = await cluster.issueClientCredentials({ commonName: name });
    const file = join(scratch, `${name}.kubeconfig`);
    writeKubeconfig(file, { name, server: cluster.server, caPem: cluster.caPem, ...creds });
    if (rules.length) {
      const rbac = [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }] },
      ];
      const r = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }) });
      expect(r.code, r.stderr).toBe(0);
    }
    return file;
  }

  // Regression (issue 12, README "Using it" on a fresh cluster): join ended with
  // `error [PLX_AGENT_KUBE]: cannot create Secret plexus-system/plexus-agent-identity …`
  // followed by client-node's raw dump (HTTP-Code: 404, Message: Unknown API Status Code!,
  // the body, every response header), because the namespace did not exist.
  it('joins a cluster that lacks the identity namespace by creating it, and a second run changes nothing', async () => {
    const cluster = lab.cluster(0);
    const { token, id } = await createToken(broker, 'ns-1');
    const args = joinArgs(token, 'ns-1', ['--kubeconfig', cluster.kubeconfigPath, '--namespace', 'fresh-plexus']);
    const run = await plexus(args);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'joined', identity: 'spiffe://acme.example/cluster/ns-1' });
    expect(await tokenState(id)).toBe('used');
    const ns = await cluster.kubectl(['get', 'namespace', 'fresh-plexus', '-o', 'jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}']);
    expect(ns.stdout).toBe('plexus');
    expect((await cluster.kubectl(['get', 'secret', '-n', 'fresh-plexus', 'plexus-agent-identity', '-o', 'name'])).code).toBe(0);
    const again = await plexus(args);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'already-joined' });
  });

  it('says in one line how to create the namespace when these credentials may not, without consuming the token', async () => {
    // May read and write Secrets anywhere, but not create namespaces.
    const kubeconfig = await userKubeconfig('secret-writer', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }]);
    const { token, id } = await createToken(broker, 'ns-2');
    const run = await plexus(joinArgs(token, 'ns-2', ['--kubeconfig', kubeconfig, '--namespace', 'not-there']));
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error \[PLX_AGENT_NAMESPACE_MISSING\]: namespace not-there does not exist .*kubectl create namespace not-there/);
    expect(await tokenState(id)).toBe('pending');
    expect((await lab.cluster(0).kubectl(['get', 'namespace', 'not-there'])).code).not.toBe(0);
  });

  // Regression (issue 12): a Kubernetes API failure printed client-node's whole HTTP dump.
  it('prints a Kubernetes API failure as one line with its code, the server\'s reason and message, and the object, never the raw HTTP dump', async () => {
    const kubeconfig = await userKubeconfig('nobody', []);
    const { token, id } = await createToken(broker, 'ns-3');
    const run = await plexus(joinArgs(token, 'ns-3', ['--kubeconfig', kubeconfig]));
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr.trimEnd()).toMatch(/^error \[PLX_AGENT_KUBE\]: cannot read Secret plexus-system\/plexus-agent-identity on https:\/\/127\.0\.0\.1:\d+: secrets "plexus-agent-identity" is forbidden: User "nobody" cannot get resource "secrets" .*\(Forbidden, HTTP 403\)$/);
    for (const raw of ['HTTP-Code', 'Headers', 'Body:', 'Unknown API Status Code']) expect(run.stderr).not.toContain(raw);
    expect(await tokenState(id)).toBe('pending');
  });

  it('refuses a token bound to another cluster and leaves it pending', async () => {
    const { token, id } = await createToken(broker, 'south-1');
    const run = await plexus(joinArgs(token, 'north-1', ['--data-dir', join(scratch, 'north-1')]));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PLX_AGENT_BROKER_REJECTED');
    expect(run.stderr).toContain('PLX_BROKER_CSR_IDENTITY_MISMATCH');
    expect(await tokenState(id)).toBe('pending');
  });

  it('rejects malformed arguments with one clear line', async () => {
    const run = await plexus(['agent', 'join', '--broker', 'http://x', '--token', 'nope', '--cluster-id', 'Bad_ID', '--ca-fingerprint', 'md5:1', '--data-dir', scratch]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('PLX_AGENT_BAD_ARGUMENT');
  });
});
