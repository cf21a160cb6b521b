// Broker process wiring: config → dependencies → start → graceful stop. No logic lives
// here beyond putting the pieces together.
import '../certs/setup.ts';
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import { pino, type Logger } from 'pino';
import { dialableUrl } from './api/addresses.ts';
import { systemClock, type Clock } from './clock.ts';
import type { BrokerConfig } from './config.ts';
import { clearRuntimeInfo, dataDirLayout, writeRuntimeInfo } from './data-dir.ts';
import { BrokerError } from './errors.ts';
import { Catalog } from './catalog/catalog.ts';
import { buildApp, type BrokerApp } from './http/app.ts';
import { issueServingCertificate } from './serving-cert.ts';
import { CaRotation } from './ca/ca-rotation.ts';
import { ServingTls } from './ca/serving-tls.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import type { Store } from './store/store.ts';
import { BrokerMetrics } from './metrics/broker-metrics.ts';

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

/** The process's one root logger. Secrets never reach it; these paths are a second guard. */
export function createRootLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'plexus-broker' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'token', 'csr', 'keyPem', '*.token', '*.csr', '*.keyPem'], censor: '[redacted]' },
  });
}

export async function startBroker(config: BrokerConfig, o: StartBrokerOptions = {}): Promise<RunningBroker> {
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? createRootLogger(config.logLevel);
  const metrics = o.metrics ?? new BrokerMetrics();
  const layout = dataDirLayout(config.dataDir);
  const store = SqliteStore.open(layout.store);
  let ready = false;
  try {
    // The roots come from the store (CA rollover, broker/ca/); the first start seeds it from D/ca/root.*.
    const tls: { serving?: ServingTls } = {};
    const caRotation = await CaRotation.open({
      layout, store, clock, logger: logger.child({ component: 'ca' }), userCertLifetimeSeconds: config.userCertLifetimeSeconds,
      onChange: async (m) => tls.serving?.caChanged(m), phaseGauge: metrics.caPhase,
    });
    const { issuing: ca, bundle: trustBundle } = caRotation.live;
    const servingTls = tls.serving = await ServingTls.start({
      live: caRotation.live, clock, logger: logger.child({ component: 'serving-tls' }),
      issue: (issuer) => issueServingCertificate({
        ca: issuer, listenHost: config.listen.host, sans: config.sans, lifetimeSeconds: config.serverCertLifetimeSeconds, now: clock.now(),
      }).then((c) => { metrics.certificatesIssued.inc({ kind: 'serving' }); return c; }),
    });
    const serving = servingTls.certificate;
    const catalog = new Catalog({ store, clock, logger: logger.child({ component: 'catalog' }), config });
    const app = buildApp({
      store, ca, trustBundle, caRotation, clock, logger, config, tls: serving, isReady: () => ready,
      catalog: { catalog, bodyLimitBytes: config.catalogBodyLimitBytes }, metrics,
    });
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
    ready = true;
    logger.child({ component: 'broker' }).info({ url, clusterset: store.clusterset, revision: catalog.revision }, 'broker listening');

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= (async () => {
      ready = false;
      rotation.stop();
      catalog.stop();
      const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        store.close();
        clearRuntimeInfo(layout, process.pid);
        logger.child({ component: 'broker' }).info('broker stopped');
      }
    })());
    return { url, app, store, catalog, metrics, stop };
  } catch (e) {
    store.close();
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
