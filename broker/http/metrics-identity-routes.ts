// POST /v1/admin/metrics-identity (broker/api/metrics.ts), admin only (route-access.ts): issues the
// read-only scrape identity (broker/metrics/metrics-identity-issuer.ts).
import type { FastifyPluginAsync } from 'fastify';
import { metricsIdentityRequestSchema, metricsPaths } from '../api/metrics.ts';
import { issueMetricsIdentity, type MetricsIdentityIssuerOptions } from '../metrics/metrics-identity-issuer.ts';
import { parseWith } from './parse.ts';

export type MetricsIdentityRoutesOptions = MetricsIdentityIssuerOptions;

export const metricsIdentityRoutes: FastifyPluginAsync<MetricsIdentityRoutesOptions> = async (app, o) => {
  app.post(metricsPaths.adminIdentity, async (request, reply) => {
    const res = await issueMetricsIdentity(o, parseWith(metricsIdentityRequestSchema, request.body));
    request.log.info({ identity: res.identity, notAfter: res.notAfter }, 'metrics identity issued');
    return reply.code(201).send(res);
  });
};
