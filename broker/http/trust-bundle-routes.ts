// GET /v1/trust-bundle: public, so an agent can fetch it before it has any identity and
// accept it only if it contains the root whose fingerprint it pinned. It reads the live CA
// at each request: during a CA rollover the bundle and the issuing root change.
import type { FastifyPluginAsync } from 'fastify';
import { paths, type TrustBundleResponse } from '../api/types.ts';
import type { LiveCa } from '../ca/live-ca.ts';

export interface TrustBundleRoutesOptions {
  readonly clusterset: string;
  readonly live: Pick<LiveCa, 'trustBundleResponse'>;
}

export const trustBundleRoutes: FastifyPluginAsync<TrustBundleRoutesOptions> = async (app, opts) => {
  app.get(paths.trustBundle, async (): Promise<TrustBundleResponse> => opts.live.trustBundleResponse(opts.clusterset));
};
