// Cluster advertisement endpoints (broker/api/advertisement.ts). The access table
// (route-access.ts) admits clusters, people and the admin, never the metrics identity, to
// read where clusters sit and how far apart they are; only a cluster may write, and only
// its own advertisement (the cluster ID comes from its certificate, never from the body).
import type { FastifyPluginAsync } from 'fastify';
import { advertisementPaths, clusterAdvertisementInputSchema } from '../api/advertisement.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { BrokerError } from '../errors.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';

export interface AdvertisementRoutesOptions {
  readonly catalog: Catalog;
  readonly auth: Authenticator;
}

export const advertisementRoutes: FastifyPluginAsync<AdvertisementRoutesOptions> = async (app, { catalog, auth }) => {
  app.put(advertisementPaths.advertisement, async (request) => {
    const { identity } = auth.principalOf(request);
    if (identity.kind !== 'cluster') throw new BrokerError('PLX_BROKER_FORBIDDEN', 'only a cluster identity may write an advertisement');
    const input = parseWith(clusterAdvertisementInputSchema, request.body);
    if (input.cluster !== identity.name) throw new BrokerError('PLX_BROKER_FORBIDDEN', `cluster "${identity.name}" may write only its own advertisement`);
    const record = await catalog.putAdvertisement(identity.name, input);
    request.log.debug({ cluster: identity.name, revision: record.revision }, 'advertisement written');
    return record;
  });

  app.get(advertisementPaths.advertisements, async () => catalog.listAdvertisements());
};
