// The agent's one configuration object: defaults, parsing and validation in one place.
// Every problem is reported at once; the result is frozen. Intervals and timeouts live
// here so tests shrink them through config instead of sleeping.
import { isIP } from 'node:net';
import { checkHttpsUrl, parseHostPort } from '../broker/api/addresses.ts';
import { gatewayAddressSchema } from '../broker/api/advertisement.ts';
import { dnsLabelSchema, isNonEmptyLabelValue } from '../broker/api/names.ts';
import { AgentError } from './errors.ts';

export interface AgentConfig {
  /** kubeconfig of the member cluster; undefined means in-cluster credentials. */
  readonly kubeconfig: string | undefined;
  /** Where the identity from `plexus agent join` is kept. */
  readonly identity: { readonly kind: 'file'; readonly dataDir: string } | { readonly kind: 'secret'; readonly namespace: string; readonly name: string };
  /** Broker URL; defaults to the one recorded at join. */
  readonly brokerUrl: string | undefined;
  readonly zone: string | undefined;
  readonly region: string | undefined;
  readonly requeueBaseMs: number;
  readonly requeueMaxMs: number;
  readonly brokerRetryBaseMs: number;
  readonly brokerRetryMaxMs: number;
  /** A watch with no event or bookmark for this long is treated as dead and resumed. */
  readonly watchIdleTimeoutMs: number;
  /** How often the agent acknowledges its trust bundle and picks up a new one (CA rollover). */
  readonly trustBundleRefreshIntervalMs: number;
  /** While informers fail, how often /readyz is probed so they restart at once when the API server is back (0 = off). */
  readonly apiServerProbeIntervalMs: number;
  readonly logLevel: string;
  /** Nearest-instance ranking: probe endpoint, probing and advertising (agent/topology/README.md). */
  readonly topology: TopologyConfig;
  /** Where the clusterset.local DNS server listens (UDP and TCP); port 0 picks a free port. */
  readonly dnsListen: { readonly host: string; readonly port: number };
  readonly dnsTtlSeconds: number;
  /** DNS over TCP limits (agent/dns/tcp-connections.ts): idle and frame deadlines, global and per-source caps. */
  readonly dnsTcp: DnsTcpConfig;
  /** Access proxy listen address (kubectl through one identity); null = off. */
  readonly proxyListen: { readonly host: string; readonly port: number } | null;
  /** URL published in the advertisement for the proxy; default derived from proxyListen. */
  readonly proxyUrl: string | undefined;
  /**
   * With no revocation update from the broker for this long (no list, no watch bookmark),
   * the access proxy refuses everyone (fail closed) until one arrives.
   */
  readonly revocationMaxStalenessMs: number;
  /** Plain-HTTP /metrics, /healthz and /readyz listener; null = off. */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  /** Networks and the east-west gateway (agent/network/README.md). */
  readonly network: NetworkConfig;
}

export interface NetworkConfig {
  /** --network; undefined = the ClusterProperty network.plexus.io, else the shared default. */
  readonly network: string | undefined;
  /** `host:port` of this cluster's gateway as other networks reach it (advertised); undefined = none. */
  readonly gatewayAddress: string | undefined;
  /** Pod IP(s) of the local gateway the imported slices point at (one per family); empty = imports through gateways are off. */
  readonly gatewayServiceAddresses: readonly string[];
  /** Listen ports the local gateway may be given, one per tunnelled (cluster, service, port). */
  readonly tunnelPorts: { readonly min: number; readonly max: number };
  /** Namespace of the tunnel table ConfigMap (the agent's). */
  readonly namespace: string;
}

export interface AgentConfigInput {
  kubeconfig?: string | undefined;
  dataDir?: string | undefined;
  secretNamespace?: string | undefined;
  secretName?: string | undefined;
  brokerUrl?: string | undefined;
  zone?: string | undefined;
  region?: string | undefined;
  requeueBaseMs?: number;
  requeueMaxMs?: number;
  brokerRetryBaseMs?: number;
  brokerRetryMaxMs?: number;
  watchIdleTimeoutMs?: number;
  trustBundleRefreshIntervalMs?: number;
  apiServerProbeIntervalMs?: number;
  logLevel?: string;
  /** "host:port" of the probe endpoint (default 127.0.0.1:0), or "off". */
  probeListen?: string | undefined;
  /** https URL other agents probe (default: https://<listen host>:<bound port>). */
  probeUrl?: string | undefined;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  probeFailureThreshold?: number;
  probeEwmaAlpha?: number;
  latencyBandMs?: number;
  advertiseIntervalMs?: number;
  /** `host:port` or `[v6]:port`. */
  dnsListen?: string | undefined;
  dnsTtlSeconds?: number;
  dnsTcpIdleTimeoutMs?: number;
  dnsTcpFrameTimeoutMs?: number;
  dnsMaxTcpConnections?: number;
  dnsMaxTcpConnectionsPerSource?: number;
  /** "host:port", or "off"; default 127.0.0.1:0 with a kubeconfig, 0.0.0.0:8443 in-cluster. */
  proxyListen?: string | undefined;
  proxyUrl?: string | undefined;
  revocationMaxStalenessMs?: number;
  /** "host:port", or "off"; default 127.0.0.1:0 with a kubeconfig, 0.0.0.0:9090 in-cluster. */
  metricsListen?: string | undefined;
  network?: string | undefined;
  gatewayAddress?: string | undefined;
  /** Comma-separated IPs, at most one per family. */
  gatewayServiceAddress?: string | undefined;
  /** "MIN-MAX". */
  tunnelPorts?: string | undefined;
}

export const agentConfigDefaults = {
  secretNamespace: 'plexus-system',
  secretName: 'plexus-agent-identity',
  requeueBaseMs: 50,
  requeueMaxMs: 30_000,
  brokerRetryBaseMs: 200,
  brokerRetryMaxMs: 15_000,
  watchIdleTimeoutMs: 45_000,
  // A CA rollover's wait phases last at least this long; a minute keeps the broker's load trivial.
  trustBundleRefreshIntervalMs: 60_000,
  apiServerProbeIntervalMs: 1000,
  logLevel: 'info',
  probeListen: '127.0.0.1:0',
  // 1 s probes, down after 2 misses: a dead or cut-off cluster is out of every answer in ~3 s.
  probeIntervalMs: 1000,
  probeTimeoutMs: 1000,
  probeFailureThreshold: 2,
  probeEwmaAlpha: 0.3,
  latencyBandMs: 5,
  advertiseIntervalMs: 5000,
  proxyListenOutside: '127.0.0.1:0',
  proxyListenInCluster: '0.0.0.0:8443',
  // A revoked person keeps access through a cut-off agent for at most this long (plus the
  // watch's idle timeout). Far above the broker's bookmark interval (10 s), so a healthy
  // stream never comes near it.
  revocationMaxStalenessMs: 300_000,
  /** In a cluster CoreDNS forwards clusterset.local here; outside one, any free port. */
  dnsListenInCluster: '0.0.0.0:53',
  dnsListenOutside: '127.0.0.1:0',
  dnsTtlSeconds: 5,
  dnsTcpIdleTimeoutMs: 10_000,
  // CoreDNS closed trickling senders within 4 s; a whole query frame takes one round trip.
  dnsTcpFrameTimeoutMs: 2_000,
  dnsMaxTcpConnections: 512,
  dnsMaxTcpConnectionsPerSource: 64,
  /** In a cluster the kubelet probes and Prometheus scrape this port; outside one, any free loopback port. */
  metricsListenInCluster: '0.0.0.0:9090',
  metricsListenOutside: '127.0.0.1:0',
  // Pod-network ports of the gateway pod: away from the node-port range and well-known services.
  tunnelPorts: '20000-29999',
} as const;

/** A listen address or "off" (null); a problem is recorded instead of thrown. */
function parseListenOrOff(problems: string[], what: string, raw: string): { readonly host: string; readonly port: number } | null {
  if (raw === 'off') return null;
  const parsed = parseHostPort(what, raw);
  if (typeof parsed === 'string') {
    problems.push(`${parsed}, or "off"`);
    return null;
  }
  return Object.freeze(parsed);
}

function checkOptionalHttpsUrl(problems: string[], what: string, raw: string | undefined): void {
  if (raw === undefined) return;
  const checked = checkHttpsUrl(what, raw);
  if (!checked.ok) problems.push(checked.message);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function checkMs(problems: string[], name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer between ${min} and ${max}, not ${v}`);
}

export interface TopologyConfig {
  /** Where the mTLS probe endpoint listens; null = off (this cluster is then not probed). */
  readonly probeListen: { readonly host: string; readonly port: number } | null;
  readonly probeUrl: string | undefined;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  /** Consecutive failed probes before a cluster is left out of answers. */
  readonly probeFailureThreshold: number;
  /** Weight of the newest RTT sample in the moving average. */
  readonly probeEwmaAlpha: number;
  /** RTTs within the same band rank as ties (then zone, region decide). */
  readonly latencyBandMs: number;
  readonly advertiseIntervalMs: number;
}

function parseTopologyConfig(problems: string[], input: AgentConfigInput): TopologyConfig {
  const d = agentConfigDefaults;
  const probeListen = parseListenOrOff(problems, 'probeListen', input.probeListen ?? d.probeListen);
  checkOptionalHttpsUrl(problems, 'probeUrl', input.probeUrl);
  const t = {
    probeIntervalMs: input.probeIntervalMs ?? d.probeIntervalMs,
    probeTimeoutMs: input.probeTimeoutMs ?? d.probeTimeoutMs,
    probeFailureThreshold: input.probeFailureThreshold ?? d.probeFailureThreshold,
    probeEwmaAlpha: input.probeEwmaAlpha ?? d.probeEwmaAlpha,
    latencyBandMs: input.latencyBandMs ?? d.latencyBandMs,
    advertiseIntervalMs: input.advertiseIntervalMs ?? d.advertiseIntervalMs,
  };
  checkMs(problems, 'probeIntervalMs', t.probeIntervalMs, 50, 600_000);
  checkMs(problems, 'probeTimeoutMs', t.probeTimeoutMs, 10, 60_000);
  checkMs(problems, 'probeFailureThreshold', t.probeFailureThreshold, 1, 100);
  checkMs(problems, 'latencyBandMs', t.latencyBandMs, 1, 10_000);
  checkMs(problems, 'advertiseIntervalMs', t.advertiseIntervalMs, 100, 3_600_000);
  if (!(t.probeEwmaAlpha > 0 && t.probeEwmaAlpha <= 1)) problems.push(`probeEwmaAlpha must be in (0, 1], not ${t.probeEwmaAlpha}`);
  return Object.freeze({ probeListen, probeUrl: input.probeUrl, ...t });
}

export function parseAgentConfig(input: AgentConfigInput): AgentConfig {
  const d = agentConfigDefaults;
  const problems: string[] = [];
  const identity: AgentConfig['identity'] = input.dataDir
    ? { kind: 'file', dataDir: input.dataDir }
    : { kind: 'secret', namespace: input.secretNamespace ?? d.secretNamespace, name: input.secretName ?? d.secretName };
  checkOptionalHttpsUrl(problems, 'brokerUrl', input.brokerUrl);
  for (const [name, v] of [['zone', input.zone], ['region', input.region]] as const) {
    if (v !== undefined && !isNonEmptyLabelValue(v)) problems.push(`${name} "${v}" must be a Kubernetes label value`);
  }
  const requeueBaseMs = input.requeueBaseMs ?? d.requeueBaseMs;
  const requeueMaxMs = input.requeueMaxMs ?? d.requeueMaxMs;
  const brokerRetryBaseMs = input.brokerRetryBaseMs ?? d.brokerRetryBaseMs;
  const brokerRetryMaxMs = input.brokerRetryMaxMs ?? d.brokerRetryMaxMs;
  const watchIdleTimeoutMs = input.watchIdleTimeoutMs ?? d.watchIdleTimeoutMs;
  checkMs(problems, 'requeueBaseMs', requeueBaseMs, 1, 60_000);
  checkMs(problems, 'requeueMaxMs', requeueMaxMs, requeueBaseMs, 600_000);
  checkMs(problems, 'brokerRetryBaseMs', brokerRetryBaseMs, 1, 60_000);
  checkMs(problems, 'brokerRetryMaxMs', brokerRetryMaxMs, brokerRetryBaseMs, 600_000);
  checkMs(problems, 'watchIdleTimeoutMs', watchIdleTimeoutMs, 100, 3_600_000);
  const trustBundleRefreshIntervalMs = input.trustBundleRefreshIntervalMs ?? d.trustBundleRefreshIntervalMs;
  checkMs(problems, 'trustBundleRefreshIntervalMs', trustBundleRefreshIntervalMs, 50, 3_600_000);
  const apiServerProbeIntervalMs = input.apiServerProbeIntervalMs ?? d.apiServerProbeIntervalMs;
  if (apiServerProbeIntervalMs !== 0) checkMs(problems, 'apiServerProbeIntervalMs', apiServerProbeIntervalMs, 50, 60_000);
  const dnsRaw = input.dnsListen ?? (input.kubeconfig ? d.dnsListenOutside : d.dnsListenInCluster);
  const dnsListen = parseHostPort('dnsListen', dnsRaw);
  if (typeof dnsListen === 'string') problems.push(dnsListen);
  const dnsTtlSeconds = input.dnsTtlSeconds ?? d.dnsTtlSeconds;
  if (!Number.isInteger(dnsTtlSeconds) || dnsTtlSeconds < 0 || dnsTtlSeconds > 86_400) problems.push(`dnsTtlSeconds must be an integer between 0 and 86400, not ${dnsTtlSeconds}`);
  const logLevel = input.logLevel ?? d.logLevel;
  const topology = parseTopologyConfig(problems, input);
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  const proxy = parseProxy(problems, input);
  const metricsListen = parseMetricsListen(problems, input);
  const dnsTcp = parseDnsTcp(problems, input);
  const network = parseNetwork(problems, input, identity.kind === 'secret' ? identity.namespace : d.secretNamespace);
  if (problems.length > 0) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `invalid agent configuration: ${problems.join('; ')}`);
  return Object.freeze({
    kubeconfig: input.kubeconfig,
    identity: Object.freeze(identity),
    brokerUrl: input.brokerUrl,
    zone: input.zone,
    region: input.region,
    requeueBaseMs, requeueMaxMs, brokerRetryBaseMs, brokerRetryMaxMs, watchIdleTimeoutMs, trustBundleRefreshIntervalMs,
    apiServerProbeIntervalMs,
    logLevel,
    topology,
    ...proxy,
    metricsListen,
    dnsListen: Object.freeze(typeof dnsListen === 'string' ? { host: '', port: 0 } : dnsListen),
    dnsTtlSeconds,
    dnsTcp,
    network,
  });
}

function parseNetwork(problems: string[], input: AgentConfigInput, namespace: string): NetworkConfig {
  if (input.network !== undefined && !dnsLabelSchema.safeParse(input.network).success) problems.push(`network "${input.network}" must be an RFC-1123 label`);
  if (input.gatewayAddress !== undefined) {
    const r = gatewayAddressSchema.safeParse(input.gatewayAddress);
    if (!r.success) problems.push(`gatewayAddress: ${r.error.issues[0]!.message}`);
  }
  const addresses = input.gatewayServiceAddress === undefined ? [] : input.gatewayServiceAddress.split(',').map((a) => a.trim());
  const families = addresses.map((a) => isIP(a));
  if (addresses.some((a, i) => families[i] === 0)) problems.push(`gatewayServiceAddress "${input.gatewayServiceAddress}" must be IP addresses, comma-separated`);
  else if (addresses.length > 2 || new Set(families).size !== families.length) problems.push('gatewayServiceAddress takes at most one IPv4 and one IPv6 address');
  const raw = input.tunnelPorts ?? agentConfigDefaults.tunnelPorts;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(raw);
  const tunnelPorts = m ? { min: Number(m[1]), max: Number(m[2]) } : { min: 0, max: -1 };
  if (!(tunnelPorts.min >= 1 && tunnelPorts.max <= 65535 && tunnelPorts.min <= tunnelPorts.max)) problems.push(`tunnelPorts "${raw}" must be MIN-MAX within 1-65535`);
  return Object.freeze({
    network: input.network, gatewayAddress: input.gatewayAddress, gatewayServiceAddresses: Object.freeze(addresses),
    tunnelPorts: Object.freeze(tunnelPorts), namespace,
  });
}

export interface DnsTcpConfig {
  readonly idleTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
}

function parseDnsTcp(problems: string[], input: AgentConfigInput): DnsTcpConfig {
  const d = agentConfigDefaults;
  const out = {
    idleTimeoutMs: input.dnsTcpIdleTimeoutMs ?? d.dnsTcpIdleTimeoutMs,
    frameTimeoutMs: input.dnsTcpFrameTimeoutMs ?? d.dnsTcpFrameTimeoutMs,
    maxConnections: input.dnsMaxTcpConnections ?? d.dnsMaxTcpConnections,
    maxConnectionsPerSource: input.dnsMaxTcpConnectionsPerSource ?? d.dnsMaxTcpConnectionsPerSource,
  };
  checkMs(problems, 'dnsTcpIdleTimeoutMs', out.idleTimeoutMs, 100, 600_000);
  checkMs(problems, 'dnsTcpFrameTimeoutMs', out.frameTimeoutMs, 50, 60_000);
  checkMs(problems, 'dnsMaxTcpConnections', out.maxConnections, 1, 65_535);
  checkMs(problems, 'dnsMaxTcpConnectionsPerSource', out.maxConnectionsPerSource, 1, out.maxConnections);
  return Object.freeze(out);
}

function parseProxy(problems: string[], input: AgentConfigInput): Pick<AgentConfig, 'proxyListen' | 'proxyUrl' | 'revocationMaxStalenessMs'> {
  const raw = input.proxyListen ?? (input.kubeconfig ? agentConfigDefaults.proxyListenOutside : agentConfigDefaults.proxyListenInCluster);
  const proxyListen = parseListenOrOff(problems, 'proxyListen', raw);
  checkOptionalHttpsUrl(problems, 'proxyUrl', input.proxyUrl);
  const revocationMaxStalenessMs = input.revocationMaxStalenessMs ?? agentConfigDefaults.revocationMaxStalenessMs;
  checkMs(problems, 'revocationMaxStalenessMs', revocationMaxStalenessMs, 100, 86_400_000);
  return { proxyListen, proxyUrl: input.proxyUrl, revocationMaxStalenessMs };
}

function parseMetricsListen(problems: string[], input: AgentConfigInput): AgentConfig['metricsListen'] {
  const d = agentConfigDefaults;
  return parseListenOrOff(problems, 'metricsListen', input.metricsListen ?? (input.kubeconfig ? d.metricsListenOutside : d.metricsListenInCluster));
}
