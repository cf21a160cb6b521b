// Admin read endpoints of the fleet views (broker/api/fleet.ts). Registered by app.ts
// inside the admin scope, so only the clusterset admin identity reaches them.
import type { FastifyPluginAsync } from 'fastify';
import { fleetPaths } from '../api/fleet.ts';
import type { FleetView } from './fleet-view.ts';

export interface FleetRoutesOptions {
  readonly fleet: FleetView;
}

export const fleetRoutes: FastifyPluginAsync<FleetRoutesOptions> = async (app, { fleet }) => {
  const noStore = { 'cache-control': 'no-store' };
  app.get(fleetPaths.fleet, async (_request, reply) => reply.headers(noStore).send(fleet.status()));
  app.get(fleetPaths.services, async (_request, reply) => reply.headers(noStore).send(fleet.services()));
};
