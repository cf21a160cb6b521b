// The access proxy over real sockets and TLS 1.3, in front of a scripted upstream that
// stands in for the API server: what reaches upstream (impersonation, the agent's own
// credentials, nothing of the client's), streaming without buffering, upgrade relay, the
// audit line. The same proxy against real API servers and kubectl: test/e2e/proxy-kubectl.
import https from 'node:https';
import { once } from 'node:events';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRootCa } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { ProxyAuthenticator } from '../../agent/proxy/authn.ts';
import { RevokedUsers } from '../../agent/proxy/revoked-users.ts';
import { AccessProxy } from '../../agent/proxy/server.ts';
import { kubeConfigUpstream } from '../../agent/proxy/upstream.ts';

const clusterset = 'acme.example';
const SERVER_NAME = 'east-1.cluster.acme.example';

async function leaf(ca: Awaited<ReturnType<typeof createRootCa>>['ca'], o: { cn: string; usages: ('serverAuth' | 'clientAuth')[]; user?: string; groups?: string[]; dns?: string[]; ips?: string[] }) {
  const keys = await generateKeyPair();
  const issued = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: o.cn, organizations: o.groups ?? [], usages: o.usages, lifetimeSeconds: 3600, now: new Date(),
    ...(o.user ? { identity: { trustDomain: clusterset, kind: 'user' as const, name: o.user } } : {}),
    ...(o.dns ? { dnsNames: o.dns } : {}), ...(o.ips ? { ipAddresses: o.ips } : {}),
  });
  return { certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

interface Seen { method?: string; url?: string; headers: IncomingHttpHeaders }

describe('access proxy', () => {
  let upstream: https.Server;
  let proxy: AccessProxy;
  let proxyUrl: URL;
  let user: { certPem: string; keyPem: string };
  let caPem: string;
  const seen: Seen[] = [];
  const audit: Record<string, unknown>[] = [];
  let onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  let upstreamConnections = 0;

  beforeEach(async () => {
    seen.length = 0;
    audit.length = 0;
    const { ca } = await createRootCa({ clusterset, now: new Date(Date.now() - 120_000) });
    caPem = ca.certPem;
    const upstreamCert = await leaf(ca, { cn: 'apiserver', usages: ['serverAuth'], ips: ['127.0.0.1'] });
    upstream = https.createServer({ key: upstreamCert.keyPem, cert: upstreamCert.certPem });
    upstream.on('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      onRequest(req, res);
    });
    upstream.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    upstreamConnections = 0;
    upstream.on('secureConnection', () => { upstreamConnections++; });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`, caData: Buffer.from(ca.certPem).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'agent', token: 'agent-token' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'agent' }],
      currentContext: 'c',
    });
    const revoked = new RevokedUsers();
    revoked.applyList([], new Date());
    const serving = await leaf(ca, { cn: 'east-1', usages: ['serverAuth', 'clientAuth'], dns: [SERVER_NAME] });
    const sink = new Writable({ write(chunk: Buffer, _e, cb) { audit.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
    proxy = new AccessProxy({
      listen: { host: '127.0.0.1', port: 0 }, tls: serving, trustBundlePem: ca.certPem,
      authn: new ProxyAuthenticator({ trustBundle: TrustBundle.fromPem(ca.certPem), clusterset, now: () => new Date(), revoked, maxStalenessMs: 3_600_000 }),
      upstream: await kubeConfigUpstream(kc), review: { allows: async () => false }, audit: pino({ base: { cluster: 'east-1' } }, sink),
    });
    proxyUrl = new URL(await proxy.start());
    user = await leaf(ca, { cn: 'someone-else', usages: ['clientAuth'], user: 'alice', groups: ['dev'] });
  });

  afterEach(async () => {
    await proxy.stop();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  const send = (o: { path: string; headers?: Record<string, string>; method?: string }) => https.request({
    host: proxyUrl.hostname, port: proxyUrl.port, path: o.path, method: o.method ?? 'GET', headers: o.headers ?? {},
    ca: caPem, cert: user.certPem, key: user.keyPem, servername: SERVER_NAME, minVersion: 'TLSv1.3',
  });

  async function body(res: IncomingMessage): Promise<string> {
    let text = '';
    for await (const c of res) text += c.toString();
    return text;
  }

  // The probe server's CI hang (2cf2572), in the proxy: a client accepted but still in its
  // TLS handshake when stop() ran was unknown to closeAllConnections(), so server.close()
  // waited for it (up to the 120 s handshake timeout, or for good once it was served with
  // keep-alive) and the agent never finished stopping.
  it('stop() ends a connection still in its TLS handshake instead of waiting for it', async () => {
    const raw = tcpConnect(Number(proxyUrl.port), '127.0.0.1');
    raw.on('error', () => undefined);
    await once(raw, 'connect');
    const ended = once(raw, 'close');
    await Promise.race([proxy.stop(), new Promise((_, reject) => setTimeout(() => reject(new Error('stop() still pending')), 2000))]);
    await ended;
    expect(raw.destroyed).toBe(true);
  });

  it('forwards as plexus:<user> with the agent\'s credentials, never the client\'s', async () => {
    onRequest = (_req, res) => res.end('{"kind":"PodList"}');
    const req = send({ path: '/api/v1/namespaces/team/pods', headers: { authorization: 'Bearer client-token', cookie: 'x=1' } });
    req.end();
    const [res] = await once(req, 'response') as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe('{"kind":"PodList"}');
    expect(seen[0]!.headers['impersonate-user']).toBe('plexus:alice');
    expect(seen[0]!.headers['impersonate-group']).toBe('plexus:dev');
    expect(seen[0]!.headers.authorization).toBe('Bearer agent-token');
    expect(seen[0]!.headers.cookie).toBeUndefined();
    expect(audit.at(-1)).toMatchObject({ audit: true, user: 'alice', cluster: 'east-1', verb: 'list', resource: 'pods', namespace: 'team', decision: 'forwarded', status: 200 });
    // The next request reuses the upstream connection (keep-alive), it does not handshake again.
    const second = send({ path: '/api/v1/namespaces/team/pods/web' });
    second.end();
    const [res2] = await once(second, 'response') as [IncomingMessage];
    await body(res2);
    expect(upstreamConnections).toBe(1);
  });

  it('streams: a watch event reaches the client while the upstream response is still open', async () => {
    let finish: (() => void) | undefined;
    onRequest = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      finish = () => res.end('{"type":"DELETED"}\n');
    };
    const req = send({ path: '/api/v1/namespaces/team/pods?watch=true' });
    req.end();
    const [res] = await once(req, 'response') as [IncomingMessage];
    const [first] = await once(res, 'data') as [Buffer];
    expect(first.toString()).toBe('{"type":"ADDED"}\n');
    finish!();
    expect(await body(res)).toBe('{"type":"DELETED"}\n');
    expect(audit.at(-1)).toMatchObject({ verb: 'watch', resource: 'pods' });
  });

  it('relays upgrades (exec, port-forward) as raw sockets after 101', async () => {
    onRequest = () => undefined;
    const req = send({ path: '/api/v1/namespaces/team/pods/web/exec?command=sh', method: 'POST', headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' } });
    req.end();
    const [res, socket] = await once(req, 'upgrade') as [IncomingMessage, Socket];
    expect(res.statusCode).toBe(101);
    socket.write('ping');
    const [echo] = await once(socket, 'data') as [Buffer];
    expect(echo.toString()).toBe('ping');
    socket.destroy();
    expect(seen[0]!.headers['impersonate-user']).toBe('plexus:alice');
    expect(seen[0]!.headers.upgrade).toBe('SPDY/3.1');
  });

  it('refuses smuggled impersonation on plain and upgrade requests before anything reaches upstream', async () => {
    onRequest = (_req, res) => res.end();
    const plain = send({ path: '/api/v1/pods', headers: { 'Impersonate-User': 'system:admin' } });
    plain.end();
    const [res] = await once(plain, 'response') as [IncomingMessage];
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-plexus-error']).toBe('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(JSON.parse(await body(res))).toMatchObject({ kind: 'Status', code: 403, details: { causes: [{ reason: 'PLX_AGENT_PROXY_IMPERSONATION_REFUSED' }] } });
    const up = send({ path: '/api/v1/namespaces/team/pods/web/exec', method: 'POST', headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'impersonate-group': 'system:masters' } });
    up.end();
    const [upRes] = await once(up, 'response') as [IncomingMessage];
    expect(upRes.statusCode).toBe(403);
    expect(upRes.headers['x-plexus-error']).toBe('PLX_AGENT_PROXY_IMPERSONATION_REFUSED');
    expect(seen).toEqual([]);
    expect(audit.filter((a) => a.decision === 'refused')).toHaveLength(2);
  });
});
