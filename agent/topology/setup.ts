// Wiring of nearest-instance ranking for one agent: where this cluster sits, the mTLS probe
// endpoint, the prober following the advertised probe URLs, the Topology the import
// controller and the DNS server rank with, and the advertiser. main.ts calls this once.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { dialableUrl } from '../../broker/api/addresses.ts';
import type { TopologyConfig } from '../config.ts';
import type { Timers } from '../timing/clock.ts';
import type { KubeApi } from '../kube/kube-api.ts';
import { Advertiser, type AdvertisementPublisher, type AdvertiserOptions } from './advertiser.ts';
import { clusterLocation, type ClusterLocation } from './cluster-location.ts';
import { httpsProbe } from './probe-client.ts';
import { startProbeServer, type RunningProbeServer } from './probe-server.ts';
import { Prober, type ProberOptions } from './prober.ts';
import { Topology, type TopologyCatalog } from './topology.ts';

export interface TopologySetupOptions {
  readonly clusterId: string;
  readonly clusterset: string;
  readonly identity: { readonly certPem: string; readonly keyPem: string; readonly trustBundle: string };
  readonly config: TopologyConfig;
  /** --zone / --region; ClusterProperties fill what they leave out. */
  readonly flags: ClusterLocation;
  readonly api: Pick<KubeApi, 'get'>;
  readonly catalog: TopologyCatalog;
  readonly broker: AdvertisementPublisher;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The access proxy's URL, when this agent runs one (kept in the advertisement). */
  readonly proxyUrl?: () => string | undefined;
  readonly metrics?: ProberOptions['metrics'];
  /** Network and gateway address to advertise (agent/network). */
  readonly network?: AdvertiserOptions['network'];
}

export interface RunningTopology {
  readonly topology: Topology;
  readonly probeUrl: string | undefined;
  /** The cluster identity renewed or its trust bundle changed: probe server and client use `tls` from now on. */
  useIdentity(tls: { certPem: string; keyPem: string; trustBundle: string }): void;
  stop(): Promise<void>;
}

export async function startTopology(o: TopologySetupOptions): Promise<RunningTopology> {
  const log = o.logger.child({ component: 'topology' });
  const { config } = o;
  const location = await clusterLocation(o.api, o.flags, log);
  const local = { cluster: o.clusterId, ...location };
  let server: RunningProbeServer | undefined;
  if (config.probeListen) {
    server = await startProbeServer({
      host: config.probeListen.host, port: config.probeListen.port, clusterId: o.clusterId, clusterset: o.clusterset,
      certPem: o.identity.certPem, keyPem: o.identity.keyPem, trustBundlePem: o.identity.trustBundle, logger: log,
      isMember: (cluster) => o.catalog.isMember(cluster),
    });
  }
  const probeUrl = config.probeUrl ?? (server && config.probeListen ? dialableUrl('https', config.probeListen.host, server.port) : undefined);
  const client = httpsProbe({ clusterset: o.clusterset, certPem: o.identity.certPem, keyPem: o.identity.keyPem, trustBundlePem: o.identity.trustBundle });
  const prober = new Prober({
    probe: client.probe, timers: o.timers, now: () => performance.now(), logger: log,
    intervalMs: config.probeIntervalMs, timeoutMs: config.probeTimeoutMs, failureThreshold: config.probeFailureThreshold, ewmaAlpha: config.probeEwmaAlpha,
    metrics: o.metrics,
  });
  const topology = new Topology({ local, catalog: o.catalog, prober, latencyBandMs: config.latencyBandMs });
  const advertiser = new Advertiser({
    broker: o.broker, local, probeUrl, proxyUrl: o.proxyUrl, network: o.network, timers: o.timers, intervalMs: config.advertiseIntervalMs, logger: log,
    latencies: () => prober.latencies(), current: () => o.catalog.advertisement(o.clusterId),
  });
  topology.start();
  prober.start();
  advertiser.start();
  log.info({ ...location, probeUrl }, 'topology started');
  return {
    topology,
    probeUrl,
    useIdentity(tls) {
      server?.useIdentity(tls);
      client.useIdentity(tls);
    },
    async stop() {
      advertiser.stop();
      prober.stop();
      topology.stop();
      client.close();
      await server?.close();
    },
  };
}
