// The agent's one configuration object: defaults, parsing and validation in one place.
// Every problem is reported at once; the result is frozen. Intervals and timeouts live
// here so tests shrink them through config instead of sleeping.
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
  readonly logLevel: string;
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
  logLevel?: string;
}

export const agentConfigDefaults = {
  secretNamespace: 'plexus-system',
  secretName: 'plexus-agent-identity',
  requeueBaseMs: 50,
  requeueMaxMs: 30_000,
  brokerRetryBaseMs: 200,
  brokerRetryMaxMs: 15_000,
  watchIdleTimeoutMs: 45_000,
  logLevel: 'info',
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

function checkMs(problems: string[], name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer between ${min} and ${max}, not ${v}`);
}

export function parseAgentConfig(input: AgentConfigInput): AgentConfig {
  const d = agentConfigDefaults;
  const problems: string[] = [];
  const identity: AgentConfig['identity'] = input.dataDir
    ? { kind: 'file', dataDir: input.dataDir }
    : { kind: 'secret', namespace: input.secretNamespace ?? d.secretNamespace, name: input.secretName ?? d.secretName };
  if (input.brokerUrl !== undefined) {
    try {
      if (new URL(input.brokerUrl).protocol !== 'https:') problems.push(`brokerUrl must use https, not "${input.brokerUrl}"`);
    } catch {
      problems.push(`brokerUrl "${input.brokerUrl}" is not a URL`);
    }
  }
  for (const [name, v] of [['zone', input.zone], ['region', input.region]] as const) {
    if (v !== undefined && !LABEL_VALUE.test(v)) problems.push(`${name} "${v}" must be a Kubernetes label value`);
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
  const logLevel = input.logLevel ?? d.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`logLevel must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  if (problems.length > 0) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `invalid agent configuration: ${problems.join('; ')}`);
  return Object.freeze({
    kubeconfig: input.kubeconfig,
    identity: Object.freeze(identity),
    brokerUrl: input.brokerUrl,
    zone: input.zone,
    region: input.region,
    requeueBaseMs, requeueMaxMs, brokerRetryBaseMs, brokerRetryMaxMs, watchIdleTimeoutMs,
    logLevel,
  });
}
