// Admin read endpoints of the fleet views (broker/api/fleet.ts). The access table
// (route-access.ts) admits only the clusterset admin identity.
import type { FastifyPluginAsync } from 'fastify';
import { fleetPaths } from '../api/fleet.ts';
import type { FleetView } from '../fleet/fleet-view.ts';

export interface FleetRoutesOptions {
  readonly fleet: FleetView;
}

export const fleetRoutes: FastifyPluginAsync<FleetRoutesOptions> = async (app, { fleet }) => {
  const noStore = { 'cache-control': 'no-store' };
  app.get(fleetPaths.fleet, async (_request, reply) => reply.headers(noStore).send(await fleet.status()));
  app.get(fleetPaths.services, async (_request, reply) => reply.headers(noStore).send(await fleet.services()));
};
