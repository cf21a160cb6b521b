// Agent process wiring: config → identity → broker client, Kubernetes access, catalog →
// membership and controllers → graceful stop. No logic lives here (STYLE: OCM's agent.go
// pattern — wait for identity, then start the controllers).
import '../certs/setup.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { parseIdentity } from '../certs/identity.ts';
import { BrokerClient } from './broker-client/broker-client.ts';
import { WatchClient } from './broker-client/watch-client.ts';
import { WatchDispatcher } from './broker-client/watch-dispatcher.ts';
import { CatalogView } from './catalog/catalog-view.ts';
import type { AgentConfig } from './config.ts';
import { startMembership } from './controllers/membership/membership.ts';
import { recoveryLeaseClient } from './controllers/membership/recovery-lease-client.ts';
import { LeaseReporter, reportingLeaseClient } from './controllers/membership/lease-report.ts';
import { agentVersion } from './agent-version.ts';
import { setupServiceExportController } from './controllers/service-export/setup.ts';
import { withExportEvents } from './controllers/service-export/export-events.ts';
import { setupServiceImportController } from './controllers/service-import/setup.ts';
import { startTopology } from './topology/setup.ts';
import { clusterNetwork } from './network/cluster-network.ts';
import { GatewayTunnels } from './network/gateway-tunnels.ts';
import { NetworkView } from './network/network-view.ts';
import { TunnelTablePublisher } from './network/tunnel-table-publisher.ts';
import { DnsFeeder } from './dns/feeder.ts';
import { nameserverAddresses } from './dns/nameserver-addresses.ts';
import { Resolver } from './dns/resolver.ts';
import { DnsServer, type DnsAddress } from './dns/server.ts';
import { AgentError, type AgentErrorCode } from './errors.ts';
import { setupRbacController } from './rbac/setup.ts';
import { setupTrustBundleController } from './controllers/trust-bundle/setup.ts';
import { FileIdentityStore } from './identity/file-identity-store.ts';
import type { IdentityStore, StoredIdentity } from './identity/identity-store.ts';
import { SecretIdentityStore } from './identity/secret-identity-store.ts';
import { LiveIdentity } from './identity/live-identity.ts';
import { CertificateRotator } from './identity/rotator.ts';
import { IdentityEvents, eventTarget } from './identity/identity-events.ts';
import { systemClock, systemTimers, type Clock, type Timers } from './timing/clock.ts';
import { kubeAccess, type KubeAccess } from './kube/kube-access.ts';
import type { BackoffOptions } from './timing/backoff.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Topology } from './topology/topology.ts';
import { loadKubeConfig, secretAccess } from './kube/secrets.ts';
import { startAccessProxy, type RunningAccessProxy } from './proxy/setup.ts';
import { AgentMetrics } from './metrics/agent-metrics.ts';
import { MetricsServer } from './metrics/metrics-server.ts';
import { Readiness } from './metrics/readiness.ts';
import { TrustBundleRefresher } from './identity/trust-bundle-refresher.ts';
import { TrustBundleClient } from './broker-client/trust-bundle-client.ts';

export interface StartAgentOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Where the parts record; default a new registry per agent (two agents in one test process never share one). */
  readonly metrics?: AgentMetrics;
}

export interface RunningAgent {
  readonly clusterId: string;
  readonly clusterset: string;
  readonly catalog: CatalogView;
  /** The access proxy's advertised URL (undefined when it is off). */
  readonly proxyUrl: string | undefined;
  /** Where the clusterset.local DNS server listens (the bound port when config asked for 0). */
  readonly dns: DnsAddress;
  readonly metrics: AgentMetrics;
  /** The cluster identity every TLS user follows; update() persists, then hot-reloads them all. */
  readonly identity: LiveIdentity;
  /** Renews the cluster certificate at 2/3 of its life; renewNow() for CA rollover. */
  readonly rotator: CertificateRotator;
  /** http://host:port of /metrics, /healthz and /readyz (undefined when --metrics-listen off). */
  readonly metricsUrl: string | undefined;
  /**
   * Resolves once the controllers run: informers synced, exports synced with the broker,
   * catalog received. While the broker is down this waits; the agent keeps serving what
   * it already has (an outage is not a deletion).
   */
  readonly ready: Promise<void>;
  /** Stops everything; with `leave` also withdraws membership (`clusterset.k8s.io`). */
  stop(o?: { leave?: boolean }): Promise<void>;
}

function createAgentLogger(level: string): Logger {
  return pino({ level, base: { service: 'plexus-agent' }, redact: { paths: ['keyPem', '*.keyPem', 'token', '*.token', 'csr', '*.csr', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' } });
}

function openIdentityStore(identity: AgentConfig['identity'], kc: () => KubeConfig): IdentityStore {
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
  const store = openIdentityStore(config.identity, () => kc);
  const identity = await loadIdentity(store);
  const { trustDomain: clusterset, name: clusterId } = parseIdentity(identity.identity);
  const log = logger.child({ cluster: clusterId });
  const ctx: Wiring = {
    config, kc, identity, live: new LiveIdentity(identity, store), clusterId, clusterset, log, clock, timers, metrics: o.metrics ?? new AgentMetrics({ now: () => clock.now().getTime() }),
    baseUrl: config.brokerUrl ?? identity.brokerUrl,
    retry: { baseMs: config.brokerRetryBaseMs, maxMs: config.brokerRetryMaxMs, jitter: 0.2 },
    requeue: { baseMs: config.requeueBaseMs, maxMs: config.requeueMaxMs, jitter: 0.2 },
  };
  const life = new Lifecycle(log.child({ component: 'lifecycle' }));
  try {
    return await wire(ctx, life);
  } catch (err) {
    await life.stopAll();
    throw err;
  }
}

interface Wiring {
  config: AgentConfig; kc: KubeConfig; identity: StoredIdentity; live: LiveIdentity; clusterId: string; clusterset: string; baseUrl: string;
  log: Logger; clock: Clock; timers: Timers; retry: BackoffOptions; requeue: BackoffOptions; metrics: AgentMetrics;
}

/** Starts every part in dependency order; each registers its stop with `life` once started. */
async function wire(w: Wiring, life: Lifecycle): Promise<RunningAgent> {
  const { config, identity, clusterId, clusterset, log, clock, timers, baseUrl, metrics } = w;
  const clientCert = { certPem: identity.certPem, keyPem: identity.keyPem };
  const broker = life.started('broker client', new BrokerClient({ baseUrl, trustBundle: identity.trustBundle, clientCert }), (b) => b.close());
  const kube = life.started('kubernetes access', kubeAccess(w.kc, { logger: log, timers, apiServerProbeIntervalMs: config.apiServerProbeIntervalMs }), (k) => k.close());
  // The importing half of the export guard (broker/api/export-guard.ts): never trust what is relayed.
  const guardLog = log.child({ component: 'import-guard' });
  const catalog = new CatalogView({
    onRefused: (r) => {
      metrics.importsRefused.inc({ reason: r.reason });
      guardLog.warn({ code: 'PLX_AGENT_IMPORT_REFUSED' satisfies AgentErrorCode, ...r }, `refused to import ${r.namespace}/${r.name}: ${r.reason}`);
    },
  });
  // The catalog watch's one consumer: the view, the proxy's revocation feed and the RBAC
  // controller each follow the events they own.
  const stream = new WatchDispatcher();
  catalog.follow(stream);
  const proxy: RunningAccessProxy | undefined = config.proxyListen ? life.started('access proxy', await startAccessProxy({
    listen: config.proxyListen, advertiseUrl: config.proxyUrl, clusterId, clusterset,
    identity, broker, kc: w.kc, logger: log, now: () => clock.now(), retryBaseMs: config.brokerRetryBaseMs, retryMaxMs: config.brokerRetryMaxMs,
    revocationMaxStalenessMs: config.revocationMaxStalenessMs, metrics, stream,
  }), (p) => p.stop()) : undefined;
  const localNetwork = await clusterNetwork(kube.api, config.network.network, log.child({ component: 'network' }));
  const topo = life.started('topology', await startTopology({
    clusterId, clusterset, identity, config: config.topology, flags: { zone: config.zone, region: config.region },
    api: kube.api, catalog, broker, timers, logger: log, proxyUrl: () => proxy?.url, metrics,
    network: { network: localNetwork, gateway: config.network.gatewayAddress },
  }), (t) => t.stop());
  const network = await startNetwork(w, life, { kube, catalog, topology: topo.topology, localNetwork });
  const leaseReporter = new LeaseReporter({ informers: kube.informers, agentVersion: agentVersion() });
  // Filled below, once the parts that back off from broker failures exist.
  const onBrokerBack: (() => void)[] = [];
  const leaseClient = recoveryLeaseClient(reportingLeaseClient(broker, leaseReporter), () => onBrokerBack.forEach((f) => f()));
  const membership = life.started('membership', await startMembership({ api: kube.api, broker: leaseClient, clusterId, clusterset, logger: log, timers, clock, leaseBackoff: w.retry, metrics }), (m) => m.stop());
  leaseReporter.watch(() => membership.heartbeat.beatNow(), { timers });
  life.started('lease report', leaseReporter, (r) => r.stop());
  const { dns, ready, retryBrokerNow } = await startServing(w, life, { broker, kube, catalog, stream, topology: topo.topology, network });
  const watch = life.started('catalog watch', new WatchClient({
    sink: stream, logger: log, baseUrl, trustBundle: identity.trustBundle, clientCert,
    backoffInitialMs: config.brokerRetryBaseMs, backoffMaxMs: config.brokerRetryMaxMs, bookmarkTimeoutMs: config.watchIdleTimeoutMs, metrics,
  }), (c) => c.stop());
  watch.start();
  onBrokerBack.push(() => {
    log.info({ component: 'agent' }, 'broker answers again; catalog watch and export retries go now');
    watch.retryNow();
    retryBrokerNow();
  });
  const metricsUrl = await startMetricsServer(w, life, new Readiness({ ready, watch, graceMs: 2 * config.watchIdleTimeoutMs, ...(proxy ? { proxy } : {}) }));
  const rotator = startRotation(w, life, { broker, kube, tlsUsers: [broker, watch, ...(proxy ? [proxy] : []), topo] });
  startTrustBundleRefresh(w, life, rotator);

  let stopping: Promise<void> | undefined;
  return {
    clusterId, clusterset, catalog, proxyUrl: proxy?.url, dns, ready, metrics, metricsUrl, identity: w.live, rotator,
    stop: (so = {}) => (stopping ??= (async () => {
      // Leaving removes clusterset.k8s.io after everything else has stopped writing.
      if (so.leave) life.started('leave', membership, (m) => m.leave());
      await life.stopAll();
      log.info({ component: 'agent', left: Boolean(so.leave) }, 'agent stopped');
    })()),
  };
}

/**
 * Every TLS user follows the live identity (new connections get the new certificate and
 * trust bundle; open ones are kept), then the rotator starts renewing it. The DNS server
 * is not here: it speaks plain UDP/TCP DNS, no TLS.
 */
function startRotation(w: Wiring, life: Lifecycle, d: { broker: BrokerClient; kube: KubeAccess; tlsUsers: { useIdentity(tls: StoredIdentity): void }[] }): CertificateRotator {
  const unsubscribe = w.live.subscribe((next) => {
    for (const user of d.tlsUsers) user.useIdentity(next);
  });
  life.started('identity hot reload', unsubscribe, (u) => void u());
  const notices = new IdentityEvents({ api: d.kube.api, target: eventTarget(w.config.identity), clusterId: w.clusterId, now: () => w.clock.now(), logger: w.log });
  const rotator = life.started('certificate rotator', new CertificateRotator({
    identity: w.live, renew: (body) => d.broker.renew(body), logger: w.log, clock: w.clock, timers: w.timers, retry: w.retry, notices, metrics: w.metrics,
  }), (r) => r.stop());
  rotator.start();
  return rotator;
}

/** CA rollover (broker/ca/): acknowledge the trust bundle, take a new one, renew when the issuing root moved. */
function startTrustBundleRefresh(w: Wiring, life: Lifecycle, rotator: CertificateRotator): void {
  const refresher = life.started('trust bundle refresher', new TrustBundleRefresher({
    identity: w.live, connect: (id) => new TrustBundleClient({ baseUrl: w.baseUrl, identity: id }),
    renewNow: (reason) => rotator.renewNow(reason), intervalMs: w.config.trustBundleRefreshIntervalMs,
    timers: w.timers, clock: w.clock, logger: w.log,
  }), (r) => r.stop());
  refresher.start();
}

/** /metrics, /healthz and /readyz on their own plain-HTTP listener (agent/metrics/metrics-server.ts). */
async function startMetricsServer(w: Wiring, life: Lifecycle, readiness: Readiness): Promise<string | undefined> {
  const listen = w.config.metricsListen;
  if (!listen) return undefined;
  const server = new MetricsServer({ listen, registry: w.metrics.registry, notReady: () => readiness.notReady() });
  let url: string;
  try {
    url = await server.start();
  } catch (err) {
    throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `cannot serve metrics on ${listen.host}:${listen.port} (--metrics-listen)`, { cause: err });
  }
  life.started('metrics server', server, (s) => s.stop());
  w.log.info({ component: 'metrics', metricsUrl: url }, 'metrics and health endpoints listening');
  return url;
}

interface ServingDeps {
  broker: BrokerClient;
  kube: KubeAccess;
  catalog: CatalogView;
  stream: WatchDispatcher;
  topology: Topology;
  network: NetworkView;
}

/**
 * The network view the import controller routes with and, when this cluster runs a
 * gateway (--gateway-service-address), its tunnels: seeded from the published tunnel table
 * before any import reconciles, so listen ports survive restarts.
 */
async function startNetwork(
  w: Wiring, life: Lifecycle, d: { kube: KubeAccess; catalog: CatalogView; topology: Topology; localNetwork: string },
): Promise<NetworkView> {
  const { config, clusterId, log, timers } = w;
  const nc = config.network;
  const logger = log.child({ component: 'network' });
  let tunnels: GatewayTunnels | undefined;
  if (nc.gatewayServiceAddresses.length > 0) {
    tunnels = new GatewayTunnels({ range: nc.tunnelPorts, localAddresses: nc.gatewayServiceAddresses });
    const publisher = new TunnelTablePublisher({ api: d.kube.api, namespace: nc.namespace, tunnels, timers, logger });
    await publisher.load();
    publisher.start();
    life.started('tunnel table', publisher, (p) => p.stop());
  }
  logger.info({ network: d.localNetwork, gateway: nc.gatewayAddress, tunnels: tunnels !== undefined }, 'network');
  return new NetworkView({ localCluster: clusterId, localNetwork: d.localNetwork, catalog: d.catalog, healthy: (c) => d.topology.view(c).healthy, tunnels });
}

/** The DNS server and the controllers; `ready` resolves once all of them run. */
async function startServing(w: Wiring, life: Lifecycle, d: ServingDeps): Promise<{ dns: DnsAddress; ready: Promise<void>; retryBrokerNow: () => void }> {
  const { config, clusterId, log, clock, timers, requeue, metrics } = w;
  const { broker, kube, catalog, stream, topology, network } = d;
  const exports = setupServiceExportController({
    clusterId, informers: kube.informers, status: withExportEvents(kube.status, { api: kube.api, clock, clusterId, logger: log }),
    broker, mergedServices: catalog, logger: log, clock, timers,
    backoff: requeue, syncBackoff: w.retry, metrics, networks: network,
  });
  const imports = setupServiceImportController({
    api: kube.api, informers: kube.informers, status: kube.status, catalog, logger: log, timers, backoff: requeue, topology, metrics, network,
  });
  const rbac = setupRbacController({ api: kube.api, informers: kube.informers, broker, signals: stream, logger: log, clock, timers, backoff: requeue, metrics });
  const resolver = new Resolver({
    ttlSeconds: config.dnsTtlSeconds, nameservers: nameserverAddresses(config.dnsListen.host), now: () => clock.now().getTime(),
  });
  const dnsFeeder = new DnsFeeder({ resolver, informers: kube.informers, catalog, logger: log, order: topology, network });
  const t = config.dnsTcp;
  const dnsServer = new DnsServer({
    resolver, logger: log.child({ component: 'dns' }), metrics,
    tcpIdleTimeoutMs: t.idleTimeoutMs, tcpFrameTimeoutMs: t.frameTimeoutMs, maxTcpConnections: t.maxConnections, maxTcpConnectionsPerSource: t.maxConnectionsPerSource,
  });
  let dns: DnsAddress;
  try {
    dns = await dnsServer.listen(config.dnsListen.host, config.dnsListen.port);
  } catch (err) {
    throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `cannot serve DNS on ${config.dnsListen.host}:${config.dnsListen.port} (--dns-listen)`, { cause: err });
  }
  life.started('dns server', dnsServer, (s) => s.close());
  log.info({ component: 'dns', dns }, 'DNS server for clusterset.local listening');
  // The clusterset roots as a ConfigMap in every namespace labelled plexus.io/trust-bundle=enabled.
  const trustBundle = setupTrustBundleController({ api: kube.api, informers: kube.informers, identity: w.live, clusterId, logger: log, clock, timers, backoff: requeue });
  life.started('controllers', [exports, imports, dnsFeeder, rbac, trustBundle], (parts) => Promise.allSettled(parts.map((p) => p.stop())));
  const ready = Promise.all([exports.start(), imports.start(), dnsFeeder.start(), rbac.start(), trustBundle.start()])
    .then(() => log.info({ component: 'agent', clusterset: w.clusterset, broker: w.baseUrl }, 'agent ready'));
  ready.catch((err: unknown) => log.error({ component: 'agent', err }, 'controllers failed to start'));
  return { dns, ready, retryBrokerNow: () => exports.retryBrokerNow() };
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
