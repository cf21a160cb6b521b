// buildApp as broker/main.ts composes it, without a socket: the same composeBroker builds
// every service from an initialized data directory, and the app is returned unlistened
// for inject(). Unit tests of routes and access use it instead of wiring services of
// their own, so they exercise what the broker runs.
import { pino, type Logger } from 'pino';
import type { Clock } from '../../broker/clock.ts';
import { parseBrokerConfig, type BrokerConfigInput } from '../../broker/config.ts';
import { dataDirLayout } from '../../broker/data-dir.ts';
import { buildApp, type AppServices, type BrokerApp } from '../../broker/http/app.ts';
import type { PeerCertificateSource } from '../../broker/http/authenticate.ts';
import { composeBroker } from '../../broker/main.ts';
import { BrokerMetrics } from '../../broker/metrics/broker-metrics.ts';
import { SqliteStore } from '../../broker/store/sqlite-store.ts';

export interface TestBrokerApp {
  readonly app: BrokerApp;
  readonly services: AppServices;
  readonly store: SqliteStore;
  /** Closes the app (ending watch streams) and the store. */
  close(): Promise<void>;
}

export async function buildTestBrokerApp(o: {
  dataDir: string; clock: Clock; peerCertificate: PeerCertificateSource; config?: Partial<BrokerConfigInput>; logger?: Logger;
}): Promise<TestBrokerApp> {
  const config = parseBrokerConfig({ dataDir: o.dataDir, listen: '127.0.0.1:0', logLevel: 'silent', ...o.config });
  const store = SqliteStore.open(dataDirLayout(o.dataDir).store);
  try {
    const services = await composeBroker({
      config, layout: dataDirLayout(o.dataDir), store, clock: o.clock, logger: o.logger ?? pino({ level: 'silent' }),
      metrics: new BrokerMetrics({ defaultMetrics: false }), isReady: () => true, peerCertificate: o.peerCertificate,
    });
    const app = buildApp(services);
    await app.ready();
    return {
      app, services, store,
      close: async () => {
        await app.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
