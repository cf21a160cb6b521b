// The one frozen, validated configuration of `plexus gateway run`. Every problem is
// reported at once (PLX_GATEWAY_BAD_ARGUMENT). Intervals are fields so tests shrink them.
import { parseHostPort, type HostPort } from '../broker/api/addresses.ts';
import { DNS_LABEL } from '../certs/dns-name.ts';
import { GatewayError } from './errors.ts';
import { parseTarget, type ServiceTarget } from './target.ts';

export type GatewayIdentitySource =
  | { readonly kind: 'data-dir'; readonly dataDir: string }
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string; readonly caFile: string };

export interface ForwardConfig {
  readonly listen: HostPort;
  /** The peer cluster; its gateway must present exactly this cluster's identity. */
  readonly cluster: string;
  readonly gateway: HostPort;
  readonly target: ServiceTarget;
}

export interface GatewayConfig {
  readonly listen: HostPort;
  readonly identity: GatewayIdentitySource;
  /** JSON export table (gateway/export-table.ts); none: nothing is exported. */
  readonly exportsFile: string | undefined;
  /** Clusters admitted as peers until the agent feeds membership from the broker. */
  readonly members: readonly string[];
  readonly forwards: readonly ForwardConfig[];
  readonly metricsListen: HostPort | 'off';
  readonly logLevel: string;
  readonly sessionsPerPeer: number;
  /** How long a stream waits for the peer gateway's answer (handshake included). */
  readonly openTimeoutMs: number;
  /** How often the identity and export files are checked for changes (rotation, new exports). */
  readonly reloadIntervalMs: number;
}

export interface RawGatewayConfig {
  listen?: string;
  dataDir?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  exportsFile?: string;
  members?: string[];
  forwards?: string[];
  metricsListen?: string;
  logLevel?: string;
  sessionsPerPeer?: string | number;
  openTimeoutMs?: string | number;
  reloadIntervalMs?: string | number;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
// <local host:port>=<cluster>@<gateway host:port>/<name>.<namespace>.svc:<port>
const FORWARD = /^(.+?)=([^@]+)@([^/]+)\/(.+)$/;

function positiveInt(what: string, v: string | number | undefined, dflt: number, problems: string[]): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) problems.push(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function hostPort(what: string, s: string, problems: string[]): HostPort {
  const r = parseHostPort(what, s);
  if (typeof r === 'string') problems.push(r);
  return typeof r === 'string' ? { host: '', port: 0 } : r;
}

function parseForward(spec: string, problems: string[]): ForwardConfig {
  const m = FORWARD.exec(spec);
  if (!m) {
    problems.push(`--forward "${spec}" must be LOCAL_HOST:PORT=CLUSTER@GATEWAY_HOST:PORT/NAME.NAMESPACE.svc:PORT`);
    return { listen: { host: '', port: 0 }, cluster: '', gateway: { host: '', port: 0 }, target: { namespace: '', name: '', port: 0 } };
  }
  const [, local, cluster, gateway, target] = m as unknown as [string, string, string, string, string];
  if (!DNS_LABEL.test(cluster)) problems.push(`--forward "${spec}": cluster "${cluster}" is not an RFC-1123 label`);
  const parsed = parseTarget(target);
  if (!parsed) problems.push(`--forward "${spec}": target "${target}" is not NAME.NAMESPACE.svc:PORT`);
  return {
    listen: hostPort('--forward local address', local, problems), cluster,
    gateway: hostPort('--forward gateway address', gateway, problems),
    target: parsed ?? { namespace: '', name: '', port: 0 },
  };
}

function identitySource(raw: RawGatewayConfig, problems: string[]): GatewayIdentitySource {
  const files = [raw.certFile, raw.keyFile, raw.caFile];
  if (raw.dataDir !== undefined) {
    if (files.some((f) => f !== undefined)) problems.push('give either --identity-dir or --cert/--key/--ca, not both');
    return { kind: 'data-dir', dataDir: raw.dataDir };
  }
  if (files.every((f) => f !== undefined)) return { kind: 'files', certFile: raw.certFile!, keyFile: raw.keyFile!, caFile: raw.caFile! };
  problems.push('the gateway needs its cluster identity: --identity-dir DIR (a joined agent\'s identity.json) or all of --cert, --key and --ca');
  return { kind: 'data-dir', dataDir: '' };
}

export function parseGatewayConfig(raw: RawGatewayConfig): GatewayConfig {
  const problems: string[] = [];
  const members = raw.members ?? [];
  for (const m of members) if (!DNS_LABEL.test(m)) problems.push(`--member "${m}" is not an RFC-1123 label`);
  const logLevel = raw.logLevel ?? 'info';
  if (!LEVELS.includes(logLevel)) problems.push(`--log-level must be one of ${LEVELS.join(', ')}`);
  const config: GatewayConfig = {
    listen: hostPort('--listen', raw.listen ?? '0.0.0.0:15443', problems),
    identity: identitySource(raw, problems),
    exportsFile: raw.exportsFile,
    members: Object.freeze([...members]),
    forwards: Object.freeze((raw.forwards ?? []).map((f) => parseForward(f, problems))),
    metricsListen: raw.metricsListen === 'off' ? 'off' : hostPort('--metrics-listen', raw.metricsListen ?? '0.0.0.0:9091', problems),
    logLevel,
    sessionsPerPeer: positiveInt('--sessions-per-peer', raw.sessionsPerPeer, 2, problems),
    openTimeoutMs: positiveInt('--open-timeout', raw.openTimeoutMs, 10_000, problems),
    reloadIntervalMs: positiveInt('--reload-interval', raw.reloadIntervalMs, 10_000, problems),
  };
  if (problems.length > 0) throw new GatewayError('PLX_GATEWAY_BAD_ARGUMENT', problems.join('; '));
  return Object.freeze(config);
}
