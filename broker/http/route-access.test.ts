// The whole access matrix: every route of the access table × every kind of caller, on the
// app main.ts builds (catalog, metrics, CA rollover: every route group registered), through
// app.inject() and the peer-certificate seam with certificates the app itself issued.
// Real mTLS for the metrics → advertisements case is in test/integration/broker-route-access.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsr } from '../../certs/csr.ts';
import type { Identity } from '../../certs/identity.ts';
import { generateKeyPair } from '../../certs/keys.ts';
import { buildTestBrokerApp, type TestBrokerApp } from '../../test/support/broker-app.ts';
import { dataDirLayout } from '../data-dir.ts';
import { initBroker } from '../init.ts';
import { brokerRouteAccess, type Caller } from './route-access.ts';

type Row = 'none' | 'cluster' | 'another cluster' | 'person' | 'admin' | 'metrics' | 'foreign root';
const rows: Row[] = ['none', 'cluster', 'another cluster', 'person', 'metrics', 'foreign root', 'admin'];
const callerOfRow: Partial<Record<Row, Caller>> = { cluster: 'cluster', 'another cluster': 'cluster', person: 'user', admin: 'admin', metrics: 'metrics' };

/** A concrete request for a route pattern; the watch gets a bad `since` so an admitted call answers at once. */
function requestFor(key: string): { method: 'GET' | 'PUT' | 'POST' | 'DELETE'; url: string } {
  const [method, pattern] = key.split(' ') as ['GET' | 'PUT' | 'POST' | 'DELETE', string];
  const url = pattern.replace(/:[a-z]+/g, 'nobody');
  return { method, url: url === '/v1/watch' ? '/v1/watch?since=x' : url };
}

describe('broker access table', () => {
  let root: string;
  let broker: TestBrokerApp;
  let app: FastifyInstance;
  const peers = new Map<Row, string>();
  const now = new Date();

  async function csr(identity?: Identity): Promise<string> {
    return createCsr({ keys: await generateKeyPair('P-256'), commonName: identity?.name ?? 'test', ...(identity ? { identity } : {}) });
  }

  async function post<T>(url: string, body: unknown, as?: Row): Promise<T> {
    const r = await app.inject({ method: 'POST', url, payload: body as object, headers: as ? { 'x-test-peer': as } : {} });
    expect(r.statusCode, r.body).toBeLessThan(300);
    return r.json();
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'plexus-access-'));
    const dataDir = join(root, 'b');
    await initBroker({ dataDir, clusterset: 'acme.example', now });
    await initBroker({ dataDir: join(root, 'foreign'), clusterset: 'acme.example', now });
    const layout = dataDirLayout(dataDir);
    peers.set('admin', readFileSync(layout.adminCert, 'utf8'));
    peers.set('foreign root', readFileSync(dataDirLayout(join(root, 'foreign')).adminCert, 'utf8'));
    broker = await buildTestBrokerApp({ dataDir, clock: { now: () => now }, peerCertificate: (req) => peers.get(req.headers['x-test-peer'] as Row) });
    app = broker.app;
    for (const [row, name] of [['cluster', 'east'], ['another cluster', 'west']] as const) {
      const { token } = await post<{ token: string }>('/v1/admin/tokens', { cluster: name }, 'admin');
      const joined = await post<{ certificate: string }>('/v1/join', { token, csr: await csr({ trustDomain: 'acme.example', kind: 'cluster', name }) });
      peers.set(row, joined.certificate);
    }
    const invite = await post<{ token: string }>('/v1/admin/users', { name: 'alice', groups: ['dev'] }, 'admin');
    peers.set('person', (await post<{ certificate: string }>('/v1/users/login', { token: invite.token, csr: await csr() })).certificate);
    peers.set('metrics', (await post<{ certificate: string }>('/v1/admin/metrics-identity', { csr: await csr() }, 'admin')).certificate);
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves every route the table names (onRoute refuses a route the table does not name)', () => {
    const served = new Set<string>();
    for (const key of Object.keys(brokerRouteAccess)) {
      const { method, url } = requestFor(key);
      if (app.hasRoute({ method, url: key.split(' ')[1]! })) served.add(key);
      else expect.fail(`${method} ${url} is in the table but not served`);
    }
    expect(served.size).toBe(Object.keys(brokerRouteAccess).length);
  });

  it('refuses a route missing from the table when the app starts', async () => {
    const { checkRoute } = await import('./authenticate.ts');
    expect(() => checkRoute(brokerRouteAccess)({ method: 'GET', url: '/v1/secret' })).toThrow(/no entry in the access table/);
    expect(() => checkRoute(brokerRouteAccess)({ method: ['GET', 'HEAD'], url: '/v1/advertisements' })).not.toThrow();
  });

  const cells = Object.entries(brokerRouteAccess).flatMap(([key, access]) => rows.map((row) => {
    const caller = callerOfRow[row];
    const allowed = access.allow === 'anyone' || (caller !== undefined && access.allow.includes(caller));
    return [key, row, allowed] as const;
  }));

  it.each(cells)('%s as %s: admitted %s', async (key, row, allowed) => {
    const { method, url } = requestFor(key);
    const r = await app.inject({ method, url, headers: row === 'none' ? {} : { 'x-test-peer': row }, ...(method === 'GET' ? {} : { payload: {} }) });
    if (allowed) {
      expect([401, 403], `${r.statusCode} ${r.body}`).not.toContain(r.statusCode);
      return;
    }
    const code = (r.json() as { error: { code: string } }).error.code;
    const want = row === 'none' ? 'PLX_BROKER_UNAUTHENTICATED' : row === 'foreign root' ? 'PLX_BROKER_CERT_UNTRUSTED' : 'PLX_BROKER_FORBIDDEN';
    expect([r.statusCode, code]).toEqual([want === 'PLX_BROKER_FORBIDDEN' ? 403 : 401, want]);
  });

  it('the metrics identity reads /metrics and nothing else (it could read /v1/advertisements)', async () => {
    const readable = Object.entries(brokerRouteAccess)
      .filter(([, a]) => a.allow !== 'anyone' && a.allow.includes('metrics')).map(([k]) => k);
    expect(readable).toEqual(['GET /metrics']);
    const r = await app.inject({ method: 'GET', url: '/v1/advertisements', headers: { 'x-test-peer': 'metrics' } });
    expect([r.statusCode, (r.json() as { error: { code: string } }).error.code]).toEqual([403, 'PLX_BROKER_FORBIDDEN']);
  });
});
