// HTTP routes of CA rollover (broker/ca/). The access table (route-access.ts) admits the
// admin to `ca status`, `ca rotate` and its own re-issue, clusters to the trust-bundle
// acknowledgement.
import type { FastifyPluginAsync } from 'fastify';
import { adminIdentityRequestSchema, caPaths, caRotateRequestSchema, trustBundleAckRequestSchema } from '../api/ca.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';
import type { CaRotation } from '../ca/ca-rotation.ts';

export const caAdminRoutes: FastifyPluginAsync<{ rotation: CaRotation }> = async (app, { rotation }) => {
  app.get(caPaths.status, async () => rotation.status());
  app.post(caPaths.rotate, async (request) => {
    const res = await rotation.rotate(parseWith(caRotateRequestSchema, request.body ?? {}));
    request.log.info({ changed: res.changed, phase: res.status.phase }, res.message);
    return res;
  });
  app.post(caPaths.adminIdentity, async (request, reply) => {
    const res = await rotation.issueAdminIdentity(parseWith(adminIdentityRequestSchema, request.body));
    request.log.info({ identity: res.identity, notAfter: res.notAfter }, 'admin identity re-issued');
    return reply.code(201).send(res);
  });
};

/** POST /v1/trust-bundle/ack: the caller says which roots it trusts now; the answer is the
 *  bundle to trust and the root that issues, so an agent learns both in one call. */
export const trustBundleAckRoutes: FastifyPluginAsync<{ rotation: CaRotation; auth: Authenticator }> = async (app, { rotation, auth }) => {
  app.post(caPaths.trustBundleAck, async (request) => {
    const cluster = auth.principalOf(request).identity.name;
    const { fingerprints } = parseWith(trustBundleAckRequestSchema, request.body);
    return rotation.acknowledge(cluster, fingerprints);
  });
};
