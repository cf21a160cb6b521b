// GET /metrics: the broker's Prometheus registry. The access table (route-access.ts)
// admits only the admin identity or the read-only metrics identity
// (spiffe://<clusterset>/admin/metrics, `plexus broker metrics identity`): it is on the
// API port, over TLS 1.3, and authorized on every request like every other route.
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { metricsPaths } from '../api/metrics.ts';

export interface MetricsRoutesOptions {
  readonly registry: Registry;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { registry }) => {
  app.get(metricsPaths.scrape, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(body);
  });
};
