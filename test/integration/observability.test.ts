// Metrics and logs of a real broker and a real agent (real kube-apiserver, real TLS, real
// sockets): both /metrics endpoints are scraped over HTTP(S) while real actions happen
// (join, export, DNS over UDP, a refused and a forwarded proxy request, login, renewals),
// and every log line both processes wrote is checked for secrets and for its fields.
import dgram from 'node:dgram';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterServerName } from '../../broker/api/advertisement.ts';
import { metricsPaths, type MetricsIdentityResponse } from '../../broker/api/metrics.ts';
import { rbacPaths } from '../../broker/api/rbac.ts';
import { paths } from '../../broker/api/types.ts';
import { userPaths, type UserIdentityResponse } from '../../broker/api/users.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { FileIdentityStore } from '../../agent/identity/file-identity-store.ts';
import { joinClusterset } from '../../agent/join/join.ts';
import { startAgent, type RunningAgent } from '../../agent/main.ts';
import { MCS_GROUP, MCS_VERSION } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { plexusJson } from '../support/plexus-process.ts';
import { clusterCsr, clusterKeys, createToken, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';

/** Every line a logger wrote, parsed, plus the raw text to search for secrets. */
class LogCapture extends Writable {
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.raw.push(line);
    cb();
  }
  get lines(): Record<string, unknown>[] {
    return this.raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return undefined;
}

describe('observability: metrics and logs of a real broker and agent', () => {
  const lab = useClusters(1);
  const brokerLogs = new LogCapture();
  const agentLogs = new LogCapture();
  const secrets: string[] = [];
  let broker: TestBroker;
  let agent: RunningAgent;
  let scratch: string;
  let cluster: ClientIdentity;
  let user: ClientIdentity;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'plexus-observability-it-'));
    broker = await startTestBroker({ logger: pino({ level: 'debug', base: { service: 'plexus-broker' } }, brokerLogs), config: { leaseDurationSeconds: 6, watchBookmarkIntervalMs: 200 } });
    const { token } = await createToken(broker, 'east');
    secrets.push(token);
    const dataDir = join(scratch, 'east');
    const joined = await joinClusterset({
      brokerUrl: broker.url, token, clusterId: 'east', caFingerprint: fingerprintSha256(broker.caPem), store: new FileIdentityStore(dataDir), now: () => new Date(),
    });
    cluster = { certPem: joined.identity.certPem, keyPem: joined.identity.keyPem };
    secrets.push(joined.identity.keyPem.trim());
    const config = parseAgentConfig({
      kubeconfig: lab.cluster(0).kubeconfigPath, dataDir, logLevel: 'debug', probeListen: 'off', requeueBaseMs: 20, brokerRetryBaseMs: 50,
      // /readyz allows 2 × this without a watch: 3 s, so the last test sees it turn.
      watchIdleTimeoutMs: 1500,
    });
    agent = await startAgent(config, { logger: pino({ level: 'debug', base: { service: 'plexus-agent' } }, agentLogs) });
    await agent.ready;
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await broker?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const scrapeAgent = async () => (await fetch(`${agent.metricsUrl}/metrics`)).text();
  async function scrapeBroker(identity: ClientIdentity | null = broker.admin): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = https.get(new URL('/metrics', broker.url), { ca: broker.caPem, ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}) }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
    });
  }

  it('serves /healthz and /readyz, and shows the broker watch connected', async () => {
    expect((await fetch(`${agent.metricsUrl}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${agent.metricsUrl}/readyz`)).status === 200, { what: 'agent ready' });
    await waitFor(async () => sample(await scrapeAgent(), 'plexus_agent_broker_connected') === 1, { what: 'watch connected' });
    await waitFor(async () => (sample(await scrapeAgent(), 'plexus_agent_lease_renewals_total', { outcome: 'ok' }) ?? 0) >= 1, { what: 'a lease renewal' });
    expect(sample(await scrapeAgent(), 'plexus_agent_certificate_expiry_seconds')).toBeGreaterThan(3600);
  });

  it('refuses an unauthenticated or cluster scrape of the broker and serves the admin', async () => {
    expect((await scrapeBroker(null)).status).toBe(401);
    expect((await scrapeBroker(cluster)).status).toBe(403);
    const ok = await scrapeBroker();
    expect(ok.status).toBe(200);
    expect(sample(ok.text, 'plexus_broker_clusters', { state: 'live' })).toBe(1);
    expect(sample(ok.text, 'plexus_broker_certificates_issued_total', { kind: 'join' })).toBe(1);
    expect(sample(ok.text, 'plexus_broker_watch_streams')).toBeGreaterThanOrEqual(1);
    expect(sample(ok.text, 'plexus_broker_http_requests_total', { route: paths.join, method: 'POST', status: '201' })).toBe(1);
    expect(sample(ok.text, 'plexus_broker_http_requests_total', { route: '/metrics', method: 'GET', status: '401' })).toBe(1);
  });

  it('lets the read-only metrics identity scrape and nothing else', async () => {
    const keys = await clusterKeys();
    const csr = await clusterCsr(keys, broker.clusterset, 'metrics', { identity: { trustDomain: broker.clusterset, kind: 'admin', name: 'metrics' } });
    secrets.push(csr.trim(), keys.keyPem.trim());
    expect((await broker.call(metricsPaths.adminIdentity, { body: { csr }, identity: cluster })).status).toBe(403);
    const issued = await broker.call(metricsPaths.adminIdentity, { body: { csr }, identity: broker.admin });
    expect(issued.status).toBe(201);
    const res = issued.body as MetricsIdentityResponse;
    expect(res.identity).toBe(`spiffe://${broker.clusterset}/admin/metrics`);
    const reader = { certPem: res.certificate, keyPem: keys.keyPem };
    const scrape = await scrapeBroker(reader);
    expect(scrape.status).toBe(200);
    expect(sample(scrape.text, 'plexus_broker_certificates_issued_total', { kind: 'metrics' })).toBe(1);
    expect((await broker.call(paths.adminClusters, { identity: reader })).status).toBe(403);
    expect((await broker.call(metricsPaths.adminIdentity, { body: { csr }, identity: reader })).status).toBe(403);
  });

  it('plexus broker metrics identity writes a scrape identity Prometheus can use', async () => {
    const out = join(scratch, 'prom-tls');
    const res = await plexusJson<{ identity: string; out: string }>(['broker', 'metrics', 'identity', '--data-dir', broker.dataDir, '--out', out, '--output', 'json']);
    expect(res.identity).toBe(`spiffe://${broker.clusterset}/admin/metrics`);
    expect(statSync(join(out, 'tls.key')).mode & 0o777).toBe(0o600);
    const reader = { certPem: readFileSync(join(out, 'tls.crt'), 'utf8'), keyPem: readFileSync(join(out, 'tls.key'), 'utf8') };
    secrets.push(reader.keyPem.trim());
    expect(readFileSync(join(out, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect((await scrapeBroker(reader)).status).toBe(200);
  });

  it('counts an export at both ends, its import, and the propagation delay', async () => {
    const core = lab.cluster(0).client(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'cart' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } });
    await lab.cluster(0).client(DiscoveryV1Api).createNamespacedEndpointSlice({ namespace: 'shop', body: {
      metadata: { name: 'cart-1', labels: { 'kubernetes.io/service-name': 'cart' } }, addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    } });
    await lab.cluster(0).client(CustomObjectsApi).createNamespacedCustomObject({
      group: MCS_GROUP, version: MCS_VERSION, namespace: 'shop', plural: 'serviceexports',
      body: { apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, kind: 'ServiceExport', metadata: { name: 'cart' } },
    });
    await waitFor(async () => sample(await scrapeAgent(), 'plexus_agent_exports') === 1, { what: 'agent export gauge' });
    await waitFor(async () => sample(await scrapeAgent(), 'plexus_agent_imports') === 1, { what: 'agent import gauge' });
    const text = await scrapeAgent();
    expect(sample(text, 'plexus_agent_export_conflicts')).toBe(0);
    expect(sample(text, 'plexus_agent_propagation_delay_seconds_count')).toBeGreaterThanOrEqual(1);
    const b = (await scrapeBroker()).text;
    expect(sample(b, 'plexus_broker_exports')).toBe(1);
    expect(sample(b, 'plexus_broker_services')).toBe(1);
    expect(sample(b, 'plexus_broker_catalog_writes_total', { op: 'upsert' })).toBeGreaterThanOrEqual(1);
    expect(sample(b, 'plexus_broker_http_requests_total', { route: '/v1/exports/:namespace/:name', method: 'PUT', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(b).not.toContain('/v1/exports/shop/cart');
  });

  it('counts DNS queries over real UDP by rcode, with a latency histogram', async () => {
    const ask = (name: string) => new Promise<number>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.on('message', (msg) => { s.close(); resolve(dnsPacket.decode(msg).rcode === 'NOERROR' ? 0 : 3); });
      s.on('error', reject);
      s.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }), agent.dns.port, agent.dns.host);
    });
    await waitFor(async () => (await ask('cart.shop.svc.clusterset.local')) === 0, { what: 'cart resolves' });
    expect(await ask('nothing.shop.svc.clusterset.local')).toBe(3);
    const text = await scrapeAgent();
    expect(sample(text, 'plexus_agent_dns_queries_total', { rcode: 'NOERROR', transport: 'udp' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'plexus_agent_dns_queries_total', { rcode: 'NXDOMAIN', transport: 'udp' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'plexus_agent_dns_query_duration_seconds_count')).toBeGreaterThanOrEqual(2);
  });

  it('counts proxy requests by decision after a real login', async () => {
    const invite = await broker.call(userPaths.adminUsers, { body: { name: 'alice', groups: ['dev'] }, identity: broker.admin });
    expect(invite.status).toBe(201);
    const loginToken = (invite.body as { token: string }).token;
    secrets.push(loginToken);
    const keys = await clusterKeys();
    const csr = await clusterCsr(keys, broker.clusterset, 'alice', { identity: { trustDomain: broker.clusterset, kind: 'user', name: 'alice' } });
    secrets.push(csr.trim(), keys.keyPem.trim());
    const login = await broker.call(userPaths.login, { body: { token: loginToken, csr } });
    expect(login.status).toBe(201);
    user = { certPem: (login.body as UserIdentityResponse).certificate, keyPem: keys.keyPem };
    const proxyGet = (identity: ClientIdentity | undefined, headers: Record<string, string> = {}) => new Promise<number>((resolve, reject) => {
      const url = new URL('/api/v1/namespaces', agent.proxyUrl);
      const req = https.get(url, {
        ca: broker.caPem, servername: clusterServerName('east', broker.clusterset), headers,
        ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      req.on('error', reject);
    });
    expect(await proxyGet(undefined)).toBe(401);
    expect(await proxyGet(user, { 'impersonate-user': 'system:admin' })).toBe(403);
    expect(await proxyGet(user)).toBe(403); // forwarded: the API server's RBAC refuses plexus:alice
    await waitFor(async () => (sample(await scrapeAgent(), 'plexus_agent_proxy_requests_total', { decision: 'forwarded' }) ?? 0) >= 1, { what: 'forwarded counted' });
    expect(sample(await scrapeAgent(), 'plexus_agent_proxy_requests_total', { decision: 'refused' })).toBe(2);
    const audit = agentLogs.lines.filter((l) => l.audit === true);
    expect(audit).toHaveLength(3);
    for (const a of audit) expect(a).toMatchObject({ component: 'access-proxy', cluster: 'east', reqId: expect.any(String), verb: 'list', resource: 'namespaces' });
  });

  it('counts an RBAC drift correction and reports the baseline revision', async () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'plexus-pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] };
    const applied = await broker.call(rbacPaths.admin, { method: 'PUT', body: { objects: [role] }, identity: broker.admin });
    expect(applied.status).toBe(200);
    await waitFor(async () => sample(await scrapeAgent(), 'plexus_agent_rbac_revision') === (applied.body as { revision: number }).revision, { what: 'baseline applied' });
    const rbacApi = lab.cluster(0).client(RbacAuthorizationV1Api);
    await waitFor(async () => (await rbacApi.readClusterRole({ name: 'plexus-pod-reader' }).catch(() => undefined)) !== undefined, { what: 'role exists' });
    await rbacApi.deleteClusterRole({ name: 'plexus-pod-reader' });
    await waitFor(async () => (sample(await scrapeAgent(), 'plexus_agent_rbac_drift_corrections_total', { kind: 'ClusterRole' }) ?? 0) >= 1, { what: 'drift corrected' });
    await waitFor(async () => sample((await scrapeBroker()).text, 'plexus_broker_rbac_compliant_clusters') === 1, { what: 'compliance reported' });
  });

  it('counts renewals and the certificates they issue', async () => {
    const userKeys = await clusterKeys();
    const userCsr = await clusterCsr(userKeys, broker.clusterset, 'alice', { identity: { trustDomain: broker.clusterset, kind: 'user', name: 'alice' } });
    secrets.push(userCsr.trim(), userKeys.keyPem.trim());
    expect((await broker.call(userPaths.renew, { body: { csr: userCsr }, identity: user })).status).toBe(200);
    const keys = await clusterKeys();
    const csr = await clusterCsr(keys, broker.clusterset, 'east');
    secrets.push(csr.trim(), keys.keyPem.trim());
    expect((await broker.call(paths.renew, { body: { csr }, identity: cluster })).status).toBe(200);
    expect((await broker.call(paths.renew, { body: { csr }, identity: user })).status).toBe(403);
    const b = (await scrapeBroker()).text;
    expect(sample(b, 'plexus_broker_renewals_total', { outcome: 'success' })).toBe(1);
    expect(sample(b, 'plexus_broker_renewals_total', { outcome: 'refused' })).toBe(1);
    expect(sample(b, 'plexus_broker_certificates_issued_total', { kind: 'renew' })).toBe(1);
    expect(sample(b, 'plexus_broker_certificates_issued_total', { kind: 'user' })).toBe(2);
    expect(sample(b, 'plexus_broker_cluster_certificate_expiry_seconds', { cluster: 'east' })).toBeGreaterThan(3600);
  });

  it('wrote no secret in any log line, and every line names its component (agent lines their cluster)', () => {
    const all = [...brokerLogs.raw, ...agentLogs.raw];
    expect(all.length).toBeGreaterThan(20);
    for (const line of all) {
      expect(line).not.toContain('PRIVATE KEY');
      expect(line).not.toContain('CERTIFICATE REQUEST');
      for (const s of secrets) expect(line).not.toContain(s);
      // A child of a child that sets the same field again writes the key twice.
      expect(line.match(/"component":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
    }
    const missing = (lines: Record<string, unknown>[], field: string) => lines.filter((l) => l[field] === undefined).map((l) => l.msg);
    expect(missing(brokerLogs.lines, 'component')).toEqual([]);
    expect(missing(agentLogs.lines, 'component')).toEqual([]);
    expect(missing(agentLogs.lines, 'cluster')).toEqual([]);
    const requests = brokerLogs.lines.filter((l) => l.msg === 'request completed');
    expect(requests.length).toBeGreaterThan(5);
    for (const r of requests) expect(r).toMatchObject({ component: 'http', reqId: expect.any(String), method: expect.any(String), route: expect.any(String), status: expect.any(Number) });
    expect(requests).toContainEqual(expect.objectContaining({ route: paths.join, method: 'POST', status: 201 }));
  });

  it('turns /readyz to 503 once the broker has been gone for the grace period, /healthz stays 200', async () => {
    await broker.broker.stop();
    await waitFor(async () => sample(await scrapeAgent(), 'plexus_agent_broker_connected') === 0, { what: 'watch disconnected' });
    const unready = await waitFor(async () => {
      const res = await fetch(`${agent.metricsUrl}/readyz`);
      return res.status === 503 ? res.text() : undefined;
    }, { what: 'agent unready' });
    expect(unready).toMatch(/^broker watch disconnected for \d+ s\n$/);
    expect((await fetch(`${agent.metricsUrl}/healthz`)).status).toBe(200);
    await waitFor(async () => (sample(await scrapeAgent(), 'plexus_agent_lease_renewals_total', { outcome: 'error' }) ?? 0) >= 1, { what: 'a failed lease renewal' });
  });
});
