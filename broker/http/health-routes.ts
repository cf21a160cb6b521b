// Liveness and readiness. /readyz is 503 until the store is open and the server listens,
// and again once shutdown begins, so a load balancer drains the broker first.
import type { FastifyPluginAsync } from 'fastify';
import { paths } from '../api/types.ts';
import { BrokerError } from '../errors.ts';

export interface HealthRoutesOptions {
  readonly isReady: () => boolean;
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, opts) => {
  app.get(paths.healthz, async () => ({ status: 'ok' }));
  app.get(paths.readyz, async () => {
    if (!opts.isReady()) throw new BrokerError('PLX_BROKER_NOT_READY', 'broker is not ready');
    return { status: 'ready' };
  });
};
