// buildApp(deps) assembles the broker's HTTP API and never listens: tests call inject() or
// listen on port 0 themselves. Who may call each route lives in one table
// (route-access.ts), checked by one hook on every request.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../../certs/ca.ts';
import type { TrustBundle } from '../../certs/trust-bundle.ts';
import type { Clock } from '../clock.ts';
import type { BrokerConfig } from '../config.ts';
import { ClusterIssuer } from '../enroll/cluster-issuer.ts';
import type { EnrollDeps } from '../enroll/join.ts';
import { Membership } from '../enroll/membership.ts';
import { TokenRegistry } from '../enroll/token-registry.ts';
import type { Store } from '../store/store.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { adminClusterRoutes, adminTokenRoutes } from './admin-routes.ts';
import { advertisementRoutes } from './advertisement-routes.ts';
import { Authenticator, checkRoute, type PeerCertificateSource } from './authenticate.ts';
import { brokerRouteAccess } from './route-access.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { brokerStateSource } from '../metrics/broker-state.ts';
import { metricsRoutes } from './metrics-routes.ts';
import { metricsIdentityRoutes } from './metrics-identity-routes.ts';
import { observeRequests } from './request-observer.ts';
import { catalogRoutes } from './catalog-routes.ts';
import { RbacService } from '../rbac/rbac-service.ts';
import { rbacAdminRoutes, rbacClusterRoutes } from './rbac-routes.ts';
import { joinRoutes, renewRoutes } from './enroll-routes.ts';
import { UserIssuer } from '../users/user-issuer.ts';
import { UserRegistry } from '../users/user-registry.ts';
import { revokedUserRoutes, userAdminRoutes, userLoginRoutes, userRenewRoutes } from './user-routes.ts';
import type { UserLoginDeps } from '../users/login.ts';
import { AgentReports } from '../fleet/agent-reports.ts';
import { dashboardRoutes } from './dashboard-routes.ts';
import { fleetRoutes } from './fleet-routes.ts';
import { FleetView } from '../fleet/fleet-view.ts';
import { installErrorHandling } from './error-handler.ts';
import { healthRoutes } from './health-routes.ts';
import { trustBundleRoutes } from './trust-bundle-routes.ts';
import { caAdminRoutes, trustBundleAckRoutes } from './ca-routes.ts';
import type { CaRotation } from '../ca/ca-rotation.ts';
import { LiveCa } from '../ca/live-ca.ts';

/** The broker's HTTP app; its type is named here so that only broker/http/ imports fastify. */
export type BrokerApp = FastifyInstance;

export interface AppDeps {
  readonly store: Store;
  readonly ca: CertificateAuthority;
  readonly trustBundle: TrustBundle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Pick<BrokerConfig, 'clusterCertLifetimeSeconds' | 'bodyLimitBytes'> & Partial<Pick<BrokerConfig, 'userCertLifetimeSeconds' | 'clusterRenewGraceSeconds'>>;
  /** Serve HTTPS (TLS 1.3 only, client certificates requested) with this serving identity. */
  readonly tls?: { readonly keyPem: string; readonly certPem: string };
  readonly isReady?: () => boolean;
  /** Test seam: where the client certificate comes from (default: the TLS socket). */
  readonly peerCertificate?: PeerCertificateSource;
  /** The service catalog and the body limit of its writes; without it, no catalog routes. */
  readonly catalog?: { readonly catalog: Catalog; readonly bodyLimitBytes: number };
  /** Records requests and serves GET /metrics to the admin or metrics identity; without it, no /metrics. */
  readonly metrics?: BrokerMetrics;
  /** CA rollover (broker/ca/): its live CA replaces `ca`/`trustBundle`, and its routes are served. */
  readonly caRotation?: CaRotation;
}

function createFastify(deps: AppDeps): FastifyInstance {
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
    ca: deps.trustBundle.toPem(),
    minVersion: 'TLSv1.3' as const,
    // Join has no client certificate, so TLS must not insist; Authenticator decides.
    requestCert: true,
    rejectUnauthorized: false,
  };
  return Fastify({ ...common, https }) as unknown as FastifyInstance;
}

export function buildApp(deps: AppDeps): FastifyInstance {
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

  const { store, clock } = deps;
  // The CA can change while the broker runs (CA rollover): these deps read it through getters
  // at the moment of use, so every issue and every verification sees the current root.
  const live = deps.caRotation?.live ?? new LiveCa({ issuing: deps.ca, bundle: deps.trustBundle });
  const trustBundlePem = () => live.bundle.toPem();
  const issuer = new ClusterIssuer({ get ca() { return live.issuing; }, clusterset: store.clusterset, lifetimeSeconds: deps.config.clusterCertLifetimeSeconds });
  const enroll: EnrollDeps = { store, issuer, clock, trustBundlePem };
  const auth = new Authenticator({ store, clock, get trustBundle() { return live.bundle; } }, deps.peerCertificate);
  // Before any route group registers, so every request gets its line (with its caller once authenticated).
  observeRequests(app, deps.metrics, (request) => auth.callerOf(request)?.identity);
  const tokens = new TokenRegistry({ store, clock, get caFingerprint() { return live.pinFingerprint; } });
  const catalog = deps.catalog?.catalog;
  const membership = new Membership({ store, clock, onRemoved: catalog ? (id) => catalog.removeCluster(id) : undefined });
  // RBAC baseline (broker/rbac/): changes are announced on the catalog's watch stream.
  const rbac = new RbacService({ store, clock, logger: deps.logger.child({ component: 'rbac' }), announce: (r) => void catalog?.announceRbac(r) });
  const rbacRoutes = { rbac, bodyLimitBytes: deps.catalog?.bodyLimitBytes ?? deps.config.bodyLimitBytes };
  // Fleet views (broker/fleet/): status, services and the dashboard, from what is held above.
  const agentReports = new AgentReports({ store, clock });
  const fleet = catalog ? new FleetView({ store, clock, reports: agentReports, snapshot: () => catalog.snapshot(), compliance: () => rbac.compliance() }) : undefined;
  // Watch streams never finish on their own: end them before the server waits for connections.
  if (catalog) app.addHook('preClose', async () => catalog.stop());

  // Who may call each route is decided in one place, the access table, on every request.
  const expiredGraceMs = (deps.config.clusterRenewGraceSeconds ?? 0) * 1000;
  app.addHook('onRoute', checkRoute(brokerRouteAccess));
  app.addHook('onRequest', auth.guard(brokerRouteAccess, { expiredGraceMs, newestOnly: true }));

  void app.register(healthRoutes, { isReady: deps.isReady ?? (() => true) });
  void app.register(trustBundleRoutes, { clusterset: store.clusterset, live });
  void app.register(joinRoutes, { enroll });
  const userIssuer = new UserIssuer({ get ca() { return live.issuing; }, clusterset: store.clusterset, lifetimeSeconds: deps.config.userCertLifetimeSeconds ?? 8 * 3600 });
  const login: UserLoginDeps = { store, issuer: userIssuer, clock, trustBundlePem };
  const users = new UserRegistry({
    store, clock, get caFingerprint() { return live.pinFingerprint; },
    onRevoked: catalog ? (u) => catalog.announceUserRevoked(u.name, u.revokedAt ?? clock.now()) : undefined,
  });
  void app.register(userLoginRoutes, { login });
  void app.register(userRenewRoutes, { login, auth });
  // Only a cluster's newest certificate renews; renewal alone also takes it shortly after it
  // expired, so an agent cut off by a broker outage renews when the broker is back (authenticate.ts).
  void app.register(renewRoutes, { enroll, auth });
  void app.register(rbacClusterRoutes, { ...rbacRoutes, auth });
  void app.register(revokedUserRoutes, { store });
  if (deps.caRotation) void app.register(trustBundleAckRoutes, { rotation: deps.caRotation, auth });
  if (catalog) {
    void app.register(catalogRoutes, {
      catalog, auth, bodyLimitBytes: deps.catalog!.bodyLimitBytes, onLeaseReport: (c, r) => agentReports.record(c, r),
    });
    void app.register(advertisementRoutes, { catalog, auth });
  }
  if (deps.caRotation) void app.register(caAdminRoutes, { rotation: deps.caRotation });
  void app.register(adminTokenRoutes, { tokens, membership });
  void app.register(rbacAdminRoutes, rbacRoutes);
  void app.register(userAdminRoutes, { users });
  void app.register(adminClusterRoutes, { tokens, membership });
  if (fleet) {
    void app.register(fleetRoutes, { fleet });
    void app.register(dashboardRoutes);
  }
  const metrics = deps.metrics;
  if (metrics) {
    metrics.setStateSource(brokerStateSource({
      store, clock, catalog, rbacCompliant: () => rbac.compliance().clusters.filter((c) => c.compliant).length,
    }));
    void app.register(metricsRoutes, { registry: metrics.registry });
    void app.register(metricsIdentityRoutes, { clusterset: store.clusterset, clock, issuingCa: () => live.issuing, trustBundlePem });
  }
  return app;
}
