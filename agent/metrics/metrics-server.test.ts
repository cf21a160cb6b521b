// The observability listener on a real socket: paths, methods and the readiness answer.
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics } from './agent-metrics.ts';
import { MetricsServer } from './metrics-server.ts';

describe('MetricsServer', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function start(notReady: () => string | null) {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    server = new MetricsServer({ listen: { host: '127.0.0.1', port: 0 }, registry: metrics.registry, notReady });
    return { metrics, url: await server.start() };
  }

  it('serves the registry as Prometheus text on /metrics', async () => {
    const { metrics, url } = await start(() => null);
    metrics.proxyRequests.inc({ decision: 'refused' });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('plexus_agent_proxy_requests_total{decision="refused"} 1');
  });

  it('answers /healthz always and /readyz by the readiness callback', async () => {
    let reason: string | null = 'controllers are starting';
    const { url } = await start(() => reason);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const unready = await fetch(`${url}/readyz`);
    expect(unready.status).toBe(503);
    expect(await unready.text()).toBe('controllers are starting\n');
    reason = null;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('serves nothing else: other paths are 404 and other methods 405', async () => {
    const { url } = await start(() => null);
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await fetch(`${url}/metrics/../admin`)).status).toBe(404);
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('start() rejects when the address is taken', async () => {
    const { url } = await start(() => null);
    const second = new MetricsServer({ listen: { host: '127.0.0.1', port: Number(new URL(url).port) }, registry: new AgentMetrics({ defaultMetrics: false }).registry, notReady: () => null });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
