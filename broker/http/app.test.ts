// buildApp without a socket: app.inject() plus the peer-certificate seam, so routing,
// scoping and error mapping are tested without TLS. Real TLS is in test/integration.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths } from '../api/types.ts';
import { buildTestBrokerApp, type TestBrokerApp } from '../../test/support/broker-app.ts';
import { dataDirLayout } from '../data-dir.ts';
import { initBroker } from '../init.ts';

describe('buildApp', () => {
  let root: string;
  let broker: TestBrokerApp;
  let app: FastifyInstance;
  let adminPem: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'plexus-app-'));
    const now = new Date();
    await initBroker({ dataDir: join(root, 'b'), clusterset: 'acme.example', now });
    const layout = dataDirLayout(join(root, 'b'));
    adminPem = readFileSync(layout.adminCert, 'utf8');
    broker = await buildTestBrokerApp({
      dataDir: join(root, 'b'), clock: { now: () => now }, config: { clusterCertLifetimeSeconds: 3600, bodyLimitBytes: 4096 },
      peerCertificate: (req) => (req.headers['x-test-peer'] === 'admin' ? adminPem : undefined),
    });
    app = broker.app;
  });
  afterAll(async () => {
    await broker.close();
    rmSync(root, { recursive: true, force: true });
  });

  const code = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

  it('scopes authentication to the admin routes', async () => {
    expect((await app.inject({ method: 'GET', url: paths.trustBundle })).statusCode).toBe(200);
    const anonymous = await app.inject({ method: 'GET', url: paths.adminTokens });
    expect([anonymous.statusCode, code(anonymous.body)]).toEqual([401, 'PLX_BROKER_UNAUTHENTICATED']);
    const admin = await app.inject({ method: 'GET', url: paths.adminTokens, headers: { 'x-test-peer': 'admin' } });
    expect(admin.json()).toEqual({ tokens: [] });
    const renew = await app.inject({ method: 'POST', url: paths.renew, headers: { 'x-test-peer': 'admin' }, payload: { csr: 'x' } });
    expect(code(renew.body)).toBe('PLX_BROKER_FORBIDDEN');
  });

  it.each([
    [{ 'content-type': 'text/plain' }, '{}', 415, 'PLX_BROKER_UNSUPPORTED_MEDIA_TYPE'],
    [{ 'content-type': 'application/json' }, JSON.stringify({ pad: 'x'.repeat(5000) }), 413, 'PLX_BROKER_BODY_TOO_LARGE'],
    [{ 'content-type': 'application/json' }, '{"token":', 400, 'PLX_BROKER_BAD_REQUEST'],
    [{ 'content-type': 'application/json' }, '{"token":"x","csr":"y"}', 400, 'PLX_BROKER_VALIDATION'],
  ])('maps %j %s to %d %s', async (headers, payload, status, want) => {
    const r = await app.inject({ method: 'POST', url: paths.join, headers, payload });
    expect([r.statusCode, code(r.body)]).toEqual([status, want]);
  });

  it('answers unknown routes with PLX_BROKER_NOT_FOUND', async () => {
    const r = await app.inject({ method: 'GET', url: '/v2/anything' });
    expect([r.statusCode, code(r.body)]).toEqual([404, 'PLX_BROKER_NOT_FOUND']);
  });
});
