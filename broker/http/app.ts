// buildApp(services) assembles the broker's HTTP API and never listens: tests call
// inject() or listen on port 0 themselves. It builds no service: broker/main.ts (the one
// composition root) builds them all and hands them in; this file only registers the
// route plugins. Who may call each route lives in one table (route-access.ts), checked by
// one hook on every request.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { BrokerConfig } from '../config.ts';
import type { EnrollDeps } from '../enroll/join.ts';
import type { Membership } from '../enroll/membership.ts';
import type { TokenRegistry } from '../enroll/token-registry.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { adminClusterRoutes, adminTokenRoutes } from './admin-routes.ts';
import { advertisementRoutes } from './advertisement-routes.ts';
import { checkRoute, type Authenticator } from './authenticate.ts';
import { brokerRouteAccess } from './route-access.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { metricsRoutes } from './metrics-routes.ts';
import { metricsIdentityRoutes } from './metrics-identity-routes.ts';
import { observeRequests } from './request-observer.ts';
import { catalogRoutes } from './catalog-routes.ts';
import type { RbacService } from '../rbac/rbac-service.ts';
import { rbacAdminRoutes, rbacClusterRoutes } from './rbac-routes.ts';
import { joinRoutes, renewRoutes } from './enroll-routes.ts';
import type { UserRegistry } from '../users/user-registry.ts';
import type { UserStore } from '../users/user-store.ts';
import { revokedUserRoutes, userAdminRoutes, userLoginRoutes, userRenewRoutes } from './user-routes.ts';
import type { UserLoginDeps } from '../users/login.ts';
import type { AgentReports } from '../fleet/agent-reports.ts';
import { dashboardRoutes } from './dashboard-routes.ts';
import { fleetRoutes } from './fleet-routes.ts';
import type { FleetView } from '../fleet/fleet-view.ts';
import { installErrorHandling } from './error-handler.ts';
import { healthRoutes } from './health-routes.ts';
import { trustBundleRoutes } from './trust-bundle-routes.ts';
import { caAdminRoutes, trustBundleAckRoutes } from './ca-routes.ts';
import type { CaRotation } from '../ca/ca-rotation.ts';
import type { LiveCa } from '../ca/live-ca.ts';

/** The broker's HTTP app; its type is named here so that only broker/http/ imports fastify. */
export type BrokerApp = FastifyInstance;

/** Everything the routes serve, built by broker/main.ts (composeBroker). */
export interface AppServices {
  readonly clusterset: string;
  /** The current issuing root and trust bundle (CA rollover replaces them while the broker runs). */
  readonly live: LiveCa;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Pick<BrokerConfig, 'bodyLimitBytes' | 'catalogBodyLimitBytes' | 'clusterRenewGraceSeconds'>;
  /** Serve HTTPS (TLS 1.3 only, client certificates requested) with this serving identity; absent: plain HTTP for inject() tests. */
  readonly tls?: { readonly keyPem: string; readonly certPem: string } | undefined;
  readonly isReady: () => boolean;
  readonly auth: Authenticator;
  readonly enroll: EnrollDeps;
  readonly login: UserLoginDeps;
  readonly tokens: TokenRegistry;
  readonly membership: Membership;
  readonly users: UserRegistry;
  /** Revoked people, served to agents. */
  readonly revokedUsers: { readonly users: Pick<UserStore, 'listRevoked'> };
  readonly rbac: RbacService;
  readonly catalog: Catalog;
  readonly agentReports: AgentReports;
  readonly fleet: FleetView;
  readonly caRotation: CaRotation;
  readonly metrics: BrokerMetrics;
}

function createFastify(deps: AppServices): FastifyInstance {
  const common = {
    // The root logger comes in; subsystems below take their own component child.
    loggerInstance: deps.logger.child({ component: 'http' }),
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    // One line per request instead, with the route pattern (request-observer.ts). Through
    // logController: fastify 5.12 deprecates the top-level option with a process warning.
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: 30_000,
  };
  if (!deps.tls) return Fastify(common) as unknown as FastifyInstance;
  const https = {
    key: deps.tls.keyPem,
    cert: deps.tls.certPem,
    ca: deps.live.bundle.toPem(),
    minVersion: 'TLSv1.3' as const,
    // Join has no client certificate, so TLS must not insist; Authenticator decides.
    requestCert: true,
    rejectUnauthorized: false,
  };
  return Fastify({ ...common, https }) as unknown as FastifyInstance;
}

export function buildApp(deps: AppServices): FastifyInstance {
  const app = createFastify(deps);
  // Only JSON is accepted: anything else, text/plain included, is 415.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  // Every response names its request id (as the logs do). Graceful stop: requests in
  // flight when close() starts still complete, and their responses end the keep-alive
  // connection so close() does not wait for idle clients.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  const { auth, catalog, live, clusterset } = deps;
  // Before any route group registers, so every request gets its line (with its caller once authenticated).
  observeRequests(app, deps.metrics, (request) => auth.callerOf(request)?.identity);
  // Watch streams never finish on their own: end them before the server waits for connections.
  app.addHook('preClose', async () => catalog.stop());

  // Who may call each route is decided in one place, the access table, on every request.
  const expiredGraceMs = (deps.config.clusterRenewGraceSeconds ?? 0) * 1000;
  app.addHook('onRoute', checkRoute(brokerRouteAccess));
  app.addHook('onRequest', auth.guard(brokerRouteAccess, { expiredGraceMs, newestOnly: true }));

  const rbacRoutes = { rbac: deps.rbac, bodyLimitBytes: deps.config.catalogBodyLimitBytes };
  void app.register(healthRoutes, { isReady: deps.isReady });
  void app.register(trustBundleRoutes, { clusterset, live });
  void app.register(joinRoutes, { enroll: deps.enroll });
  void app.register(userLoginRoutes, { login: deps.login });
  void app.register(userRenewRoutes, { login: deps.login, auth });
  // Only a cluster's newest certificate renews; renewal alone also takes it shortly after it
  // expired, so an agent cut off by a broker outage renews when the broker is back (authenticate.ts).
  void app.register(renewRoutes, { enroll: deps.enroll, auth });
  void app.register(rbacClusterRoutes, { ...rbacRoutes, auth });
  void app.register(revokedUserRoutes, { store: deps.revokedUsers });
  void app.register(trustBundleAckRoutes, { rotation: deps.caRotation, auth });
  void app.register(catalogRoutes, {
    catalog, auth, bodyLimitBytes: deps.config.catalogBodyLimitBytes, onLeaseReport: (c, r) => deps.agentReports.record(c, r),
  });
  void app.register(advertisementRoutes, { catalog, auth });
  void app.register(caAdminRoutes, { rotation: deps.caRotation });
  void app.register(adminTokenRoutes, { tokens: deps.tokens, membership: deps.membership });
  void app.register(rbacAdminRoutes, rbacRoutes);
  void app.register(userAdminRoutes, { users: deps.users });
  void app.register(adminClusterRoutes, { tokens: deps.tokens, membership: deps.membership });
  void app.register(fleetRoutes, { fleet: deps.fleet });
  void app.register(dashboardRoutes);
  void app.register(metricsRoutes, { registry: deps.metrics.registry });
  void app.register(metricsIdentityRoutes, { clusterset, clock: deps.clock, issuingCa: () => live.issuing, trustBundlePem: () => live.bundle.toPem() });
  return app;
}
