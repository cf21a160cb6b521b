// RBAC baseline endpoints (broker/api/rbac.ts), over broker/rbac/rbac-service.ts. The access
// table (route-access.ts) admits the admin to the admin plugin's routes and clusters to the
// cluster plugin's; a cluster only ever sees the objects targeted at itself and writes
// only its own report.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { rbacApplyRequestSchema, rbacLabelRequestSchema, rbacPaths, rbacStatusReportSchema } from '../api/rbac.ts';
import { clusterIdSchema } from '../api/types.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';
import type { RbacService } from '../rbac/rbac-service.ts';

export interface RbacRoutesOptions {
  readonly rbac: RbacService;
  readonly bodyLimitBytes: number;
}

export const rbacAdminRoutes: FastifyPluginAsync<RbacRoutesOptions> = async (app, { rbac, bodyLimitBytes }) => {
  const write = { bodyLimit: bodyLimitBytes };
  app.put(rbacPaths.admin, write, async (request) => {
    const res = await rbac.apply(parseWith(rbacApplyRequestSchema, request.body));
    request.log.info({ revision: res.revision, created: res.created, objects: res.objects }, 'rbac baseline applied');
    return res;
  });
  app.get(rbacPaths.admin, async () => rbac.info());
  app.post(rbacPaths.adminDiff, write, async (request) => {
    const body = request.body === undefined || request.body === null ? undefined : parseWith(rbacApplyRequestSchema, request.body);
    return rbac.diff(body);
  });
  app.get(rbacPaths.adminStatus, async () => rbac.compliance());
  app.put<{ Params: { id: string } }>('/v1/admin/clusters/:id/labels', async (request) => {
    const id = parseWith(clusterIdSchema, request.params.id);
    const body = parseWith(rbacLabelRequestSchema, request.body);
    return rbac.label(id, body.set, body.remove);
  });
};

export const rbacClusterRoutes: FastifyPluginAsync<RbacRoutesOptions & { readonly auth: Authenticator }> = async (app, { rbac, auth, bodyLimitBytes }) => {
  const caller = (request: FastifyRequest) => auth.principalOf(request).identity.name;
  app.get(rbacPaths.baseline, async (request) => rbac.baselineFor(caller(request)));
  app.put(rbacPaths.status, { bodyLimit: bodyLimitBytes }, async (request) => {
    await rbac.report(caller(request), parseWith(rbacStatusReportSchema, request.body));
    return { ok: true };
  });
};
