// The broker process's one configuration object: defaults, parsing and validation.
// Every problem is reported at once, and the result is frozen.
import { isIP } from 'node:net';
import { parseHostPort } from './api/addresses.ts';
import { DEFAULT_PROTECTED_NAMESPACES } from './api/export-guard.ts';
import { namespaceSchema } from './api/catalog.ts';
import { isDnsName } from './api/names.ts';
import { BrokerError } from './errors.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface BrokerConfig {
  readonly dataDir: string;
  readonly listen: ListenAddress;
  /** Extra DNS names or IP addresses for the serving certificate. */
  readonly sans: readonly string[];
  readonly clusterCertLifetimeSeconds: number;
  /**
   * How long after its certificate expired a cluster may still renew it (POST /v1/renew
   * only, and only with its newest certificate): an agent that could not reach the broker
   * in time (broker outage) renews when it is back instead of having to join again. 0 = off.
   */
  readonly clusterRenewGraceSeconds: number;
  /** Lifetime of people's certificates (`plexus login`): short, renewed with `login --renew`. */
  readonly userCertLifetimeSeconds: number;
  readonly serverCertLifetimeSeconds: number;
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
  /** Service catalog: a cluster that does not heartbeat for this long becomes unavailable. */
  readonly leaseDurationSeconds: number;
  /** How often expired leases are looked for. */
  readonly leaseCheckIntervalMs: number;
  /** Catalog events kept for watchers to resume from; older `since` values get a relist. */
  readonly eventRetention: number;
  /** Bookmarks on idle watch streams, so clients detect dead connections. */
  readonly watchBookmarkIntervalMs: number;
  /** A watcher whose unsent output stays above this for a bookmark interval is dropped. */
  readonly watchHighWaterMarkBytes: number;
  /** Body limit of catalog writes (a bulk sync carries a cluster's whole export set). */
  readonly catalogBodyLimitBytes: number;
  /** Namespaces no cluster may export from (broker/api/export-guard.ts); may be empty. */
  readonly protectedNamespaces: readonly string[];
  /** The etcd backend (`--etcd-endpoints`); absent: the embedded sqlite store in dataDir. */
  readonly etcd?: EtcdStoreConfig;
}

/** Where the etcd store lives and the client TLS files that reach it (mutual TLS only). */
export interface EtcdStoreConfig {
  readonly endpoints: readonly string[];
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Key prefix; absent at start: the one `broker init` recorded in the data directory. */
  readonly prefix?: string;
  /** How often readiness asks etcd for a linearizable read. */
  readonly probeIntervalMs: number;
  /** One etcd call, member failover included: after this a cut-off replica gets UNAVAILABLE. */
  readonly requestTimeoutMs: number;
}

export interface EtcdStoreInput {
  endpoints?: readonly string[] | string;
  ca?: string;
  cert?: string;
  key?: string;
  prefix?: string;
  probeIntervalMs?: number;
  requestTimeoutMs?: number;
}

/** Validates the etcd flags; problems are appended (every one reported at once). */
export function parseEtcdStoreConfig(problems: string[], input: EtcdStoreInput | undefined): EtcdStoreConfig | undefined {
  if (!input) return undefined;
  const endpoints = (typeof input.endpoints === 'string' ? input.endpoints.split(',') : [...(input.endpoints ?? [])]).map((e) => e.trim()).filter((e) => e !== '');
  const given = endpoints.length > 0;
  if (!given) {
    for (const f of ['ca', 'cert', 'key', 'prefix'] as const) if (input[f]) problems.push(`--etcd-${f} needs --etcd-endpoints`);
    return undefined;
  }
  for (const e of endpoints) {
    let url: URL | undefined;
    try { url = new URL(e); } catch { /* reported below */ }
    if (!url || url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.username) problems.push(`--etcd-endpoints: "${e}" is not https://host:port`);
  }
  for (const f of ['ca', 'cert', 'key'] as const) if (!input[f]) problems.push(`--etcd-${f} is required with --etcd-endpoints (etcd is reached with mutual TLS only)`);
  const prefix = input.prefix;
  if (prefix !== undefined && (!prefix.startsWith('/') || !prefix.endsWith('/') || prefix.length < 2)) problems.push(`--etcd-prefix "${prefix}" must start and end with "/"`);
  const probeIntervalMs = input.probeIntervalMs ?? 1000;
  checkInt(problems, 'etcd probeIntervalMs', probeIntervalMs, 50, 600_000);
  const requestTimeoutMs = input.requestTimeoutMs ?? 5000;
  checkInt(problems, 'etcd requestTimeoutMs', requestTimeoutMs, 100, 600_000);
  return Object.freeze({
    endpoints: Object.freeze(endpoints), caFile: input.ca ?? '', certFile: input.cert ?? '', keyFile: input.key ?? '',
    ...(prefix !== undefined ? { prefix } : {}), probeIntervalMs, requestTimeoutMs,
  });
}

export interface BrokerConfigInput {
  etcd?: EtcdStoreInput;
  dataDir?: string;
  listen?: string;
  sans?: readonly string[];
  clusterCertLifetimeSeconds?: number;
  clusterRenewGraceSeconds?: number;
  userCertLifetimeSeconds?: number;
  serverCertLifetimeSeconds?: number;
  bodyLimitBytes?: number;
  shutdownTimeoutMs?: number;
  logLevel?: string;
  leaseDurationSeconds?: number;
  leaseCheckIntervalMs?: number;
  eventRetention?: number;
  watchBookmarkIntervalMs?: number;
  watchHighWaterMarkBytes?: number;
  catalogBodyLimitBytes?: number;
  protectedNamespaces?: readonly string[];
}

export const brokerConfigDefaults = {
  listen: '127.0.0.1:7443',
  clusterCertLifetimeSeconds: 24 * 3600,
  clusterRenewGraceSeconds: 24 * 3600,
  userCertLifetimeSeconds: 8 * 3600,
  serverCertLifetimeSeconds: 30 * 24 * 3600,
  bodyLimitBytes: 64 * 1024,
  shutdownTimeoutMs: 10_000,
  logLevel: 'info',
  leaseDurationSeconds: 30,
  leaseCheckIntervalMs: 1000,
  eventRetention: 10_000,
  watchBookmarkIntervalMs: 10_000,
  watchHighWaterMarkBytes: 4 * 1024 * 1024,
  catalogBodyLimitBytes: 16 * 1024 * 1024,
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** "host:port" or "[v6]:port"; returns a problem string instead of throwing. */
export function parseListen(s: string): ListenAddress | string {
  return parseHostPort('listen', s);
}

function checkInt(problems: string[], name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in [${min}, ${max}], not ${v}`);
}

type CatalogFields = Pick<BrokerConfig, 'leaseDurationSeconds' | 'leaseCheckIntervalMs' | 'eventRetention'
  | 'watchBookmarkIntervalMs' | 'watchHighWaterMarkBytes' | 'catalogBodyLimitBytes'>;

const catalogRanges: Record<keyof CatalogFields, readonly [number, number]> = {
  leaseDurationSeconds: [1, 24 * 3600],
  leaseCheckIntervalMs: [10, 600_000],
  eventRetention: [1, 10_000_000],
  watchBookmarkIntervalMs: [10, 600_000],
  watchHighWaterMarkBytes: [16 * 1024, 1024 * 1024 * 1024],
  catalogBodyLimitBytes: [64 * 1024, 256 * 1024 * 1024],
};

function parseCatalogFields(problems: string[], input: BrokerConfigInput): CatalogFields {
  const out = {} as Record<keyof CatalogFields, number>;
  for (const [name, [min, max]] of Object.entries(catalogRanges) as [keyof CatalogFields, readonly [number, number]][]) {
    const v = input[name] ?? brokerConfigDefaults[name];
    checkInt(problems, name, v, min, max);
    out[name] = v;
  }
  return out;
}

export function parseBrokerConfig(input: BrokerConfigInput): BrokerConfig {
  const problems: string[] = [];
  const d = brokerConfigDefaults;
  const dataDir = input.dataDir ?? '';
  if (dataDir.trim() === '') problems.push('dataDir is required');

  const listen = parseListen(input.listen ?? d.listen);
  if (typeof listen === 'string') problems.push(listen);

  const sans = [...(input.sans ?? [])];
  for (const san of sans) {
    if (!isIP(san) && !isDnsName(san)) problems.push(`san "${san}" is neither an IP address nor a lowercase DNS name`);
  }

  const clusterCertLifetimeSeconds = input.clusterCertLifetimeSeconds ?? d.clusterCertLifetimeSeconds;
  // 10 s minimum: rotation tests compress a certificate's whole life into seconds.
  checkInt(problems, 'clusterCertLifetimeSeconds', clusterCertLifetimeSeconds, 10, 30 * 24 * 3600);
  const clusterRenewGraceSeconds = input.clusterRenewGraceSeconds ?? d.clusterRenewGraceSeconds;
  checkInt(problems, 'clusterRenewGraceSeconds', clusterRenewGraceSeconds, 0, 30 * 24 * 3600);
  const userCertLifetimeSeconds = input.userCertLifetimeSeconds ?? d.userCertLifetimeSeconds;
  checkInt(problems, 'userCertLifetimeSeconds', userCertLifetimeSeconds, 60, 7 * 24 * 3600);
  const serverCertLifetimeSeconds = input.serverCertLifetimeSeconds ?? d.serverCertLifetimeSeconds;
  checkInt(problems, 'serverCertLifetimeSeconds', serverCertLifetimeSeconds, 3600, 397 * 24 * 3600);
  const bodyLimitBytes = input.bodyLimitBytes ?? d.bodyLimitBytes;
  checkInt(problems, 'bodyLimitBytes', bodyLimitBytes, 1024, 1024 * 1024);
  const shutdownTimeoutMs = input.shutdownTimeoutMs ?? d.shutdownTimeoutMs;
  checkInt(problems, 'shutdownTimeoutMs', shutdownTimeoutMs, 0, 300_000);
  const logLevel = input.logLevel ?? d.logLevel;
  const catalog = parseCatalogFields(problems, input);
  const protectedNamespaces = [...(input.protectedNamespaces ?? DEFAULT_PROTECTED_NAMESPACES)];
  for (const ns of protectedNamespaces) if (!namespaceSchema.safeParse(ns).success) problems.push(`protected namespace "${ns}" is not a namespace name (RFC-1123 label)`);
  const etcd = parseEtcdStoreConfig(problems, input.etcd);
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);

  if (problems.length > 0 || typeof listen === 'string') {
    throw new BrokerError('PLX_BROKER_CONFIG_INVALID', `invalid broker configuration: ${problems.join('; ')}`, { details: problems });
  }
  return Object.freeze({
    dataDir,
    listen: Object.freeze(listen),
    sans: Object.freeze(sans),
    clusterCertLifetimeSeconds,
    clusterRenewGraceSeconds,
    userCertLifetimeSeconds,
    serverCertLifetimeSeconds,
    bodyLimitBytes,
    shutdownTimeoutMs,
    logLevel,
    ...catalog,
    protectedNamespaces: Object.freeze(protectedNamespaces),
    ...(etcd ? { etcd } : {}),
  });
}
