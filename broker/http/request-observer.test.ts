// The request hook on a bare Fastify instance (inject, no socket): labels by route pattern,
// one log line per request, and the outcome counters only the route reveals.
import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { observeRequests, type CallerOf } from './request-observer.ts';

async function app(callerOf?: CallerOf) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { raw.push(chunk.toString()); lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  const metrics = new BrokerMetrics({ defaultMetrics: false });
  const f = Fastify({ loggerInstance: pino({ base: { component: 'http' } }, sink), logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  observeRequests(f, metrics, callerOf);
  f.put('/v1/exports/:namespace/:name', async () => ({ ok: true }));
  f.post('/v1/lease', async () => ({ ok: true }));
  f.get('/v1/users/revoked', async () => ({ ok: true }));
  f.post('/v1/renew', async (_req, reply) => reply.code(403).send({ error: 'no' }));
  f.post('/v1/join', async (_req, reply) => reply.code(201).send({}));
  f.get('/v1/watch', async () => ({}));
  await f.ready();
  return { f, lines, raw, metrics };
}

describe('observeRequests', () => {
  it('labels by route pattern, never the raw path, and logs one line per request', async () => {
    const { f, lines, metrics } = await app();
    await f.inject({ method: 'PUT', url: '/v1/exports/shop/cart' });
    await f.inject({ method: 'PUT', url: '/v1/exports/shop/other' });
    await f.inject({ method: 'GET', url: '/no/such/path?token=plx1.secret' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('plexus_broker_http_requests_total{route="/v1/exports/:namespace/:name",method="PUT",status="200"} 2');
    expect(text).toContain('plexus_broker_http_requests_total{route="unmatched",method="GET",status="404"} 1');
    expect(text).toContain('plexus_broker_catalog_writes_total{op="upsert"} 2');
    expect(text).not.toContain('shop');
    const done = lines.filter((l) => l.msg === 'request completed');
    expect(done).toHaveLength(3);
    expect(done[0]).toMatchObject({ component: 'http', method: 'PUT', route: '/v1/exports/:namespace/:name', status: 200, reqId: expect.any(String) });
    expect(JSON.stringify(lines)).not.toContain('plx1.secret');
  });

  // A lease problem in CI could not be traced: the line named the request id twice and
  // the caller not at all, so which cluster's heartbeats stopped was not in the log.
  it('names the authenticated caller (cluster, or kind:name) and the request id once', async () => {
    const who: CallerOf = (req) => (req.url === '/v1/lease'
      ? { trustDomain: 'acme.example', kind: 'cluster', name: 'cluster-1' }
      : req.url === '/v1/users/revoked' ? { trustDomain: 'acme.example', kind: 'user', name: 'alice' } : undefined);
    const { f, lines, raw } = await app(who);
    await f.inject({ method: 'POST', url: '/v1/lease', payload: {} });
    await f.inject({ method: 'GET', url: '/v1/users/revoked' });
    await f.inject({ method: 'POST', url: '/v1/join', payload: {} });
    const done = lines.filter((l) => l.msg === 'request completed');
    expect(done[0]).toMatchObject({ route: '/v1/lease', cluster: 'cluster-1' });
    expect(done[0]).not.toHaveProperty('caller');
    expect(done[1]).toMatchObject({ route: '/v1/users/revoked', caller: 'user:alice' });
    expect(done[2]).not.toHaveProperty('cluster');
    expect(done[2]).not.toHaveProperty('caller');
    for (const line of raw.filter((l) => l.includes('request completed'))) expect(line.match(/"reqId"/g)).toHaveLength(1);
  });

  it('counts issued certificates on success and renewals by outcome', async () => {
    const { f, metrics } = await app();
    await f.inject({ method: 'POST', url: '/v1/join', payload: {} });
    await f.inject({ method: 'POST', url: '/v1/renew', payload: {} });
    const text = await metrics.registry.metrics();
    expect(text).toContain('plexus_broker_certificates_issued_total{kind="join"} 1');
    expect(text).not.toContain('plexus_broker_certificates_issued_total{kind="renew"}');
    expect(text).toContain('plexus_broker_renewals_total{outcome="refused"} 1');
  });

  it('counts watch streams but keeps them out of the latency histogram', async () => {
    const { f, metrics } = await app();
    await f.inject({ method: 'GET', url: '/v1/watch?since=0' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('plexus_broker_http_requests_total{route="/v1/watch",method="GET",status="200"} 1');
    expect(text).not.toContain('plexus_broker_http_request_duration_seconds_count{route="/v1/watch"}');
  });
});
