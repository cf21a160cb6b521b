// Agent process wiring: config → identity → broker client, Kubernetes access, catalog →
// membership and controllers → graceful stop. No logic lives here (STYLE: OCM's agent.go
// pattern — wait for identity, then start the controllers).
import '../certs/setup.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { parseIdentity } from '../certs/identity.ts';
import { BrokerClient } from './broker-client/broker-client.ts';
import { WatchClient } from './broker-client/watch-client.ts';
import { CatalogView } from './catalog/catalog-view.ts';
import type { AgentConfig } from './config.ts';
import { startMembership, type RunningMembership } from './controllers/membership/membership.ts';
import { setupServiceExportController } from './controllers/service-export/setup.ts';
import { setupServiceImportController } from './controllers/service-import/setup.ts';
import { startTopology } from './topology/setup.ts';
import { DnsFeeder } from './dns/feeder.ts';
import { Resolver } from './dns/resolver.ts';
import { DnsServer, type DnsAddress } from './dns/server.ts';
import { AgentError } from './errors.ts';
import { setupRbacController } from './rbac/setup.ts';
import { FileIdentityStore } from './identity/file-identity-store.ts';
import type { IdentityStore, StoredIdentity } from './identity/identity-store.ts';
import { SecretIdentityStore } from './identity/secret-identity-store.ts';
import { systemClock, systemTimers, type Clock, type Timers } from './kube/clock.ts';
import { kubeAccess } from './kube/kube-access.ts';
import { loadKubeConfig, secretAccess } from './kube/secrets.ts';
import { startAccessProxy, type RunningAccessProxy } from './proxy/setup.ts';

export interface StartAgentOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
}

export interface RunningAgent {
  readonly clusterId: string;
  readonly clusterset: string;
  readonly catalog: CatalogView;
  /** The access proxy's advertised URL (undefined when it is off). */
  readonly proxyUrl: string | undefined;
  /** Where the clusterset.local DNS server listens (the bound port when config asked for 0). */
  readonly dns: DnsAddress;
  /**
   * Resolves once the controllers run: informers synced, exports synced with the broker,
   * catalog received. While the broker is down this waits; the agent keeps serving what
   * it already has (an outage is not a deletion).
   */
  readonly ready: Promise<void>;
  /** Stops everything; with `leave` also withdraws membership (`clusterset.k8s.io`). */
  stop(o?: { leave?: boolean }): Promise<void>;
}

export function createAgentLogger(level: string): Logger {
  return pino({ level, base: { service: 'plexus-agent' }, redact: { paths: ['keyPem', '*.keyPem', 'token', '*.token'], censor: '[redacted]' } });
}

export function openIdentityStore(identity: AgentConfig['identity'], kc: () => KubeConfig): IdentityStore {
  return identity.kind === 'file'
    ? new FileIdentityStore(identity.dataDir)
    : new SecretIdentityStore(secretAccess(kc()), identity.namespace, identity.name);
}

async function loadIdentity(store: IdentityStore): Promise<StoredIdentity> {
  const identity = await store.load();
  if (!identity) throw new AgentError('PLX_AGENT_NOT_JOINED', `no identity at ${store.location}; run \`plexus agent join\` first`);
  return identity;
}

export async function startAgent(config: AgentConfig, o: StartAgentOptions = {}): Promise<RunningAgent> {
  const logger = o.logger ?? createAgentLogger(config.logLevel);
  const clock = o.clock ?? systemClock;
  const timers = o.timers ?? systemTimers;
  const kc = loadKubeConfig(config.kubeconfig);
  const identity = await loadIdentity(openIdentityStore(config.identity, () => kc));
  const { trustDomain: clusterset, name: clusterId } = parseIdentity(identity.identity);
  const log = logger.child({ cluster: clusterId });
  const baseUrl = config.brokerUrl ?? identity.brokerUrl;
  const clientCert = { certPem: identity.certPem, keyPem: identity.keyPem };
  const retry = { baseMs: config.brokerRetryBaseMs, maxMs: config.brokerRetryMaxMs, jitter: 0.2 };

  const broker = new BrokerClient({ baseUrl, trustBundle: identity.trustBundle, clientCert });
  const kube = kubeAccess(kc, { logger: log, timers });
  const catalog = new CatalogView();
  const proxy: RunningAccessProxy | undefined = config.proxyListen ? await startAccessProxy({
    listen: config.proxyListen, advertiseUrl: config.proxyUrl, clusterId, clusterset,
    identity, brokerUrl: baseUrl, kc, logger: log, now: () => clock.now(), retryBaseMs: config.brokerRetryBaseMs, retryMaxMs: config.brokerRetryMaxMs,
  }) : undefined;
  const watch = new WatchClient({
    sink: proxy ? proxy.wrap(catalog) : catalog, logger: log.child({ component: 'catalog-watch' }), baseUrl, trustBundle: identity.trustBundle, clientCert,
    backoffInitialMs: config.brokerRetryBaseMs, backoffMaxMs: config.brokerRetryMaxMs, bookmarkTimeoutMs: config.watchIdleTimeoutMs,
  });
  const requeue = { baseMs: config.requeueBaseMs, maxMs: config.requeueMaxMs, jitter: 0.2 };
  const exports = setupServiceExportController({
    clusterId, informers: kube.informers, status: kube.status, broker, mergedServices: catalog, logger: log, clock, timers,
    backoff: requeue, syncBackoff: retry,
  });
  const topo = await startTopology({
    clusterId, clusterset, identity, config: config.topology, flags: { zone: config.zone, region: config.region },
    api: kube.api, catalog, broker, timers, logger: log, proxyUrl: () => proxy?.url,
  });
  const imports = setupServiceImportController({
    api: kube.api, informers: kube.informers, status: kube.status, catalog, logger: log, timers, backoff: requeue, topology: topo.topology,
  });

  const resolver = new Resolver({ ttlSeconds: config.dnsTtlSeconds });
  const dnsFeeder = new DnsFeeder({ resolver, informers: kube.informers, catalog, logger: log, order: topo.topology });
  const dnsServer = new DnsServer({ resolver, logger: log.child({ component: 'dns' }) });
  let dns: DnsAddress;
  try {
    dns = await dnsServer.listen(config.dnsListen.host, config.dnsListen.port);
  } catch (err) {
    await broker.close();
    throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `cannot serve DNS on ${config.dnsListen.host}:${config.dnsListen.port} (--dns-listen)`, { cause: err });
  }
  log.info({ dns }, 'DNS server for clusterset.local listening');

  const rbac = setupRbacController({
    api: kube.api, informers: kube.informers, broker, signals: catalog, logger: log, clock, timers, backoff: requeue,
  });

  let membership: RunningMembership;
  try {
    membership = await startMembership({ api: kube.api, broker, clusterId, clusterset, logger: log, timers, clock, leaseBackoff: retry });
  } catch (err) {
    await dnsServer.close();
    await broker.close();
    throw err;
  }
  watch.start();
  const ready = Promise.all([exports.start(), imports.start(), dnsFeeder.start(), rbac.start()]).then(() => log.info({ clusterset, broker: baseUrl }, 'agent ready'));
  ready.catch((err: unknown) => log.error({ err }, 'controllers failed to start'));

  let stopping: Promise<void> | undefined;
  return {
    clusterId, clusterset, catalog, proxyUrl: proxy?.url, dns, ready,
    stop: (so = {}) => (stopping ??= (async () => {
      await Promise.allSettled([exports.stop(), imports.stop(), dnsFeeder.stop(), dnsServer.close(), rbac.stop(), watch.stop(), proxy?.stop()]);
      await topo.stop();
      await (so.leave ? membership.leave() : membership.stop());
      await kube.informers.stop();
      await broker.close();
      log.info({ left: Boolean(so.leave) }, 'agent stopped');
    })()),
  };
}

/** `plexus agent run`: runs until SIGTERM/SIGINT, then stops gracefully (membership kept). */
export async function runAgent(config: AgentConfig, o: StartAgentOptions = {}): Promise<void> {
  const agent = await startAgent(config, o);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      agent.stop().finally(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
