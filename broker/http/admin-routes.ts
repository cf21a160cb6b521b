// Admin API: join tokens and membership. The access table (route-access.ts) admits only
// the clusterset's admin identity.
import type { FastifyPluginAsync } from 'fastify';
import { clusterIdSchema, createTokenRequestSchema, paths } from '../api/types.ts';
import type { Membership } from '../enroll/membership.ts';
import type { TokenRegistry } from '../enroll/token-registry.ts';
import { parseWith } from './parse.ts';

export interface AdminRoutesOptions {
  readonly tokens: TokenRegistry;
  readonly membership: Membership;
}

interface IdParams {
  id: string;
}

export const adminTokenRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, { tokens }) => {
  app.post(paths.adminTokens, async (request, reply) => {
    const res = await tokens.create(parseWith(createTokenRequestSchema, request.body));
    // The secret is in `res.token`; log only the id.
    request.log.info({ tokenId: res.info.id, cluster: res.info.subject, expiresAt: res.info.expiresAt }, 'join token created');
    return reply.code(201).send(res);
  });
  app.get(paths.adminTokens, async () => ({ tokens: await tokens.list() }));
  app.delete<{ Params: IdParams }>(`${paths.adminTokens}/:id`, async (request) => {
    const info = await tokens.revoke(request.params.id);
    request.log.info({ tokenId: info.id, state: info.state }, 'join token revoked');
    return info;
  });
};

export const adminClusterRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, { membership }) => {
  app.get(paths.adminClusters, async () => ({ clusters: await membership.list() }));
  app.get<{ Params: IdParams }>(`${paths.adminClusters}/:id`, async (request) => membership.get(parseWith(clusterIdSchema, request.params.id)));
  app.delete<{ Params: IdParams }>(`${paths.adminClusters}/:id`, async (request) => {
    const info = await membership.remove(parseWith(clusterIdSchema, request.params.id));
    request.log.info({ clusterId: info.id }, 'cluster removed');
    return info;
  });
};
