// Broker process wiring, the one composition root: config → store → every service
// (composeBroker) → routes (buildApp) → start → graceful stop. No logic lives here beyond
// putting the pieces together.
import '../certs/setup.ts';
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import { pino, type Logger } from 'pino';
import { dialableUrl } from './api/addresses.ts';
import { systemClock, type Clock } from './clock.ts';
import type { BrokerConfig } from './config.ts';
import { clearRuntimeInfo, dataDirLayout, writeRuntimeInfo, type DataDirLayout } from './data-dir.ts';
import { BrokerError } from './errors.ts';
import { Catalog } from './catalog/catalog.ts';
import { ClusterIssuer } from './enroll/cluster-issuer.ts';
import { Membership } from './enroll/membership.ts';
import { TokenRegistry } from './enroll/token-registry.ts';
import { AgentReports } from './fleet/agent-reports.ts';
import { FleetView } from './fleet/fleet-view.ts';
import { buildApp, type AppServices, type BrokerApp } from './http/app.ts';
import { Authenticator, type PeerCertificateSource } from './http/authenticate.ts';
import { brokerStateSource } from './metrics/broker-state.ts';
import { RbacService } from './rbac/rbac-service.ts';
import { issueServingCertificate } from './serving-cert.ts';
import { CaRotation } from './ca/ca-rotation.ts';
import type { CaMaterial } from './ca/live-ca.ts';
import { ServingTls } from './ca/serving-tls.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import { EtcdStore } from './store/etcd-store.ts';
import { EtcdClient } from './etcd/etcd-client.ts';
import { EtcdReadiness } from './etcd/etcd-readiness.ts';
import { loadEtcdTlsFiles } from './etcd/etcd-tls-files.ts';
import { readFileSync } from 'node:fs';
import type { Store } from './store/store.ts';
import { BrokerMetrics } from './metrics/broker-metrics.ts';
import { UserIssuer } from './users/user-issuer.ts';
import { UserRegistry } from './users/user-registry.ts';

export interface StartBrokerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** The broker's metric registry; CA rollover sets its phase gauge. */
  readonly metrics?: BrokerMetrics;
}

export interface RunningBroker {
  /** https://host:port that admin commands and agents dial. */
  readonly url: string;
  readonly app: BrokerApp;
  readonly store: Store;
  readonly catalog: Catalog;
  /** The registry behind GET /metrics (admin or metrics identity). */
  readonly metrics: BrokerMetrics;
  /** Stop accepting, finish in-flight requests, close the store. Idempotent. */
  stop(): Promise<void>;
}

export interface ComposeOptions {
  readonly config: BrokerConfig;
  readonly layout: DataDirLayout;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly isReady: () => boolean;
  /** Makes the servers use new CA material (the serving TLS context). */
  readonly onCaChange?: (m: CaMaterial) => Promise<void>;
  /** Test seam: where the client certificate comes from (default: the TLS socket). */
  readonly peerCertificate?: PeerCertificateSource;
}

/**
 * Builds every service the broker serves from the store: CA rollover, the catalog,
 * enrollment, people, RBAC, fleet views, metrics. The one place dependencies are chosen;
 * startBroker (and the tests' test/support/broker-app.ts) hand the result to buildApp.
 */
export async function composeBroker(o: ComposeOptions): Promise<AppServices> {
  const { config, store, clock, logger, metrics } = o;
  // The roots come from the store (CA rollover, broker/ca/); the first start seeds it from D/ca/root.*.
  const caRotation = await CaRotation.open({
    layout: o.layout, store, clock, logger: logger.child({ component: 'ca' }), userCertLifetimeSeconds: config.userCertLifetimeSeconds,
    ...(o.onCaChange ? { onChange: o.onCaChange } : {}), phaseGauge: metrics.caPhase,
  });
  // The CA can change while the broker runs: these read it through getters at the moment of
  // use, so every issue and every verification sees the current root.
  const live = caRotation.live;
  const trustBundlePem = () => live.bundle.toPem();
  const catalog = await Catalog.open({ store, clock, logger: logger.child({ component: 'catalog' }), config });
  const issuer = new ClusterIssuer({ get ca() { return live.issuing; }, clusterset: store.clusterset, lifetimeSeconds: config.clusterCertLifetimeSeconds });
  const userIssuer = new UserIssuer({ get ca() { return live.issuing; }, clusterset: store.clusterset, lifetimeSeconds: config.userCertLifetimeSeconds });
  const auth = new Authenticator({ store, clock, get trustBundle() { return live.bundle; } }, o.peerCertificate);
  // RBAC baseline (broker/rbac/): changes are announced on the catalog's watch stream.
  const rbac = await RbacService.open({ store, clock, logger: logger.child({ component: 'rbac' }), announce: (r) => catalog.announceRbac(r) });
  const agentReports = await AgentReports.open({ store, clock });
  const services: AppServices = {
    clusterset: store.clusterset, live, clock, logger, config, isReady: o.isReady, auth, catalog, caRotation, metrics, rbac, agentReports,
    enroll: { store, issuer, clock, trustBundlePem },
    login: { store, issuer: userIssuer, clock, trustBundlePem },
    tokens: new TokenRegistry({ store, clock, get caFingerprint() { return live.pinFingerprint; } }),
    membership: new Membership({ store, clock, onRemoved: (id) => catalog.removeCluster(id) }),
    users: new UserRegistry({
      store, clock, get caFingerprint() { return live.pinFingerprint; },
      onRevoked: (u) => catalog.announceUserRevoked(u.name, u.revokedAt ?? clock.now()),
    }),
    revokedUsers: store,
    // Fleet views (broker/fleet/): status, services and the dashboard, from what is held above.
    fleet: new FleetView({ store, clock, reports: agentReports, snapshot: () => catalog.snapshot(), compliance: () => rbac.compliance() }),
  };
  metrics.setStateSource(brokerStateSource({
    store, clock, catalog, rbacCompliant: async () => (await rbac.compliance()).clusters.filter((c) => c.compliant).length,
  }));
  return services;
}

/** The process's one root logger. Secrets never reach it; these paths are a second guard. */
export function createRootLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'plexus-broker' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'token', 'csr', 'keyPem', '*.token', '*.csr', '*.keyPem'], censor: '[redacted]' },
  });
}

/** The prefix `broker init --etcd-endpoints` recorded in the data directory. */
export function recordedEtcdPrefix(layout: DataDirLayout): string {
  let raw: string;
  try {
    raw = readFileSync(layout.etcdStore, 'utf8');
  } catch (cause) {
    throw new BrokerError('PLX_BROKER_NOT_INITIALIZED', `${layout.etcdStore} is missing: pass --etcd-prefix, or run "plexus broker init --etcd-endpoints …" first`, { cause });
  }
  const prefix = (JSON.parse(raw) as { prefix?: unknown }).prefix;
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw new BrokerError('PLX_BROKER_CONFIG_INVALID', `${layout.etcdStore}: no valid "prefix"`);
  return prefix;
}

/** The backend config picks: etcd (with its readiness probe) or the embedded sqlite file. */
async function openStore(config: BrokerConfig, layout: DataDirLayout, logger: Logger): Promise<{ store: Store; etcd?: EtcdReadiness }> {
  if (!config.etcd) return { store: SqliteStore.open(layout.store) };
  const e = config.etcd;
  const prefix = e.prefix ?? recordedEtcdPrefix(layout);
  const client = EtcdClient.create({ endpoints: e.endpoints, tls: loadEtcdTlsFiles(e), requestTimeoutMs: e.requestTimeoutMs });
  try {
    const store = await EtcdStore.open(client, { prefix, ownsClient: true });
    return { store, etcd: new EtcdReadiness({ client, intervalMs: e.probeIntervalMs, timeoutMs: e.requestTimeoutMs, logger: logger.child({ component: 'etcd' }) }) };
  } catch (err) {
    await client.close();
    throw err;
  }
}

export async function startBroker(config: BrokerConfig, o: StartBrokerOptions = {}): Promise<RunningBroker> {
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? createRootLogger(config.logLevel);
  const metrics = o.metrics ?? new BrokerMetrics();
  const layout = dataDirLayout(config.dataDir);
  const { store, etcd } = await openStore(config, layout, logger);
  let ready = false;
  try {
    const tls: { serving?: ServingTls } = {};
    const services = await composeBroker({
      config, layout, store, clock, logger, metrics, isReady: () => ready && (etcd?.ok ?? true), onCaChange: async (m) => tls.serving?.caChanged(m),
    });
    const { catalog } = services;
    const servingTls = tls.serving = await ServingTls.start({
      live: services.live, clock, logger: logger.child({ component: 'serving-tls' }),
      issue: (issuer) => issueServingCertificate({
        ca: issuer, listenHost: config.listen.host, sans: config.sans, lifetimeSeconds: config.serverCertLifetimeSeconds, now: clock.now(),
      }).then((c) => { metrics.certificatesIssued.inc({ kind: 'serving' }); return c; }),
    });
    const app = buildApp({ ...services, tls: servingTls.certificate });
    try {
      await app.listen({ host: config.listen.host, port: config.listen.port });
    } catch (e) {
      await app.close();
      throw new BrokerError('PLX_BROKER_LISTEN_FAILED', `cannot listen on ${config.listen.host}:${config.listen.port}: ${(e as Error).message}`, { cause: e });
    }
    const url = dialableUrl('https', config.listen.host, (app.server.address() as AddressInfo).port);
    writeRuntimeInfo(layout, { url, pid: process.pid, startedAt: clock.now().toISOString() });
    const rotation = servingTls;
    rotation.attach((c) => (app.server as unknown as HttpsServer).setSecureContext({ key: c.keyPem, cert: c.certPem, ca: c.caPem, minVersion: 'TLSv1.3' }));
    catalog.start();
    etcd?.start();
    ready = true;
    logger.child({ component: 'broker' }).info({ url, clusterset: store.clusterset, revision: catalog.revision }, 'broker listening');

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= (async () => {
      ready = false;
      etcd?.stop();
      rotation.stop();
      catalog.stop();
      const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        await store.close();
        clearRuntimeInfo(layout, process.pid);
        logger.child({ component: 'broker' }).info('broker stopped');
      }
    })());
    return { url, app, store, catalog, metrics, stop };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/** `plexus broker start`: runs until SIGTERM/SIGINT, then stops gracefully. */
export async function runBroker(config: BrokerConfig, o: StartBrokerOptions = {}): Promise<void> {
  const broker = await startBroker(config, o);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      broker.app.log.info({ signal }, 'shutting down');
      broker.stop().then(resolve, (err: unknown) => {
        broker.app.log.error({ err }, 'graceful stop failed');
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
