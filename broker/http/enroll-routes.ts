// Enrollment endpoints. Join is authenticated by its one-time token (open to anyone in the
// access table, route-access.ts); renew needs the cluster's current certificate.
import type { FastifyPluginAsync } from 'fastify';
import { joinRequestSchema, paths, renewRequestSchema } from '../api/types.ts';
import { join, type EnrollDeps } from '../enroll/join.ts';
import { renew } from '../enroll/renew.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';

export interface JoinRoutesOptions {
  readonly enroll: EnrollDeps;
}

export const joinRoutes: FastifyPluginAsync<JoinRoutesOptions> = async (app, opts) => {
  app.post(paths.join, async (request, reply) => {
    const body = parseWith(joinRequestSchema, request.body);
    const res = await join(opts.enroll, body);
    request.log.info({ clusterId: res.clusterId, notAfter: res.notAfter }, 'cluster joined');
    return reply.code(201).send(res);
  });
};

export interface RenewRoutesOptions {
  readonly enroll: EnrollDeps;
  readonly auth: Authenticator;
}

export const renewRoutes: FastifyPluginAsync<RenewRoutesOptions> = async (app, opts) => {
  app.post(paths.renew, async (request) => {
    const principal = opts.auth.principalOf(request);
    const body = parseWith(renewRequestSchema, request.body);
    const res = await renew(opts.enroll, { clusterId: principal.identity.name, epoch: principal.epoch ?? 0 }, body);
    request.log.info({ clusterId: res.clusterId, notAfter: res.notAfter }, 'cluster renewed');
    return res;
  });
};
