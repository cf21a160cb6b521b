// HTTP routes of CA rollover. app.ts registers each group in its scope: `ca status` and
// `ca rotate` behind the admin hook, the trust-bundle acknowledgement behind the cluster hook.
import type { FastifyPluginAsync } from 'fastify';
import { caPaths, caRotateRequestSchema, trustBundleAckRequestSchema } from '../api/ca.ts';
import type { Authenticator } from '../http/authenticate.ts';
import { parseWith } from '../http/parse.ts';
import type { CaRotation } from './ca-rotation.ts';

export const caAdminRoutes: FastifyPluginAsync<{ rotation: CaRotation }> = async (app, { rotation }) => {
  app.get(caPaths.status, async () => rotation.status());
  app.post(caPaths.rotate, async (request) => {
    const res = await rotation.rotate(parseWith(caRotateRequestSchema, request.body ?? {}));
    request.log.info({ changed: res.changed, phase: res.status.phase }, res.message);
    return res;
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
