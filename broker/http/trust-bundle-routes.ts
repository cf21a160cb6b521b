// GET /v1/trust-bundle: public, so an agent can fetch it before it has any identity and
// accept it only if it contains the root whose fingerprint it pinned.
import type { FastifyPluginAsync } from 'fastify';
import { paths, type TrustBundleResponse } from '../api/types.ts';
import type { TrustBundle } from '../../certs/trust-bundle.ts';

export interface TrustBundleRoutesOptions {
  readonly clusterset: string;
  readonly trustBundle: TrustBundle;
}

export const trustBundleRoutes: FastifyPluginAsync<TrustBundleRoutesOptions> = async (app, opts) => {
  const body: TrustBundleResponse = {
    clusterset: opts.clusterset,
    trustBundle: opts.trustBundle.toPem(),
    fingerprints: opts.trustBundle.fingerprints(),
  };
  app.get(paths.trustBundle, async () => body);
};
