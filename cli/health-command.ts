// `plexus health`: one liveness probe for both roles, so the image's HEALTHCHECK needs no
// curl. It asks GET /healthz of the broker (https, default 127.0.0.1:7443) and the agent
// (its plain-HTTP --metrics-listen, default 127.0.0.1:9090) and exits 0 as soon as one
// answers 200: a container runs only one of them. `--url` (or PLEXUS_HEALTH_URL) names the
// exact endpoint instead. The broker's certificate is not verified here: the probe sends
// no credentials and reads nothing but the status of a local process.
import type { Command } from 'commander';
import { Agent, request } from 'undici';
import type { CliErrorCode } from './errors.ts';

const DEFAULT_HEALTH_URLS = ['https://127.0.0.1:7443/healthz', 'http://127.0.0.1:9090/healthz'] as const;
const HEALTH_URL_ENV = 'PLEXUS_HEALTH_URL';

export class HealthError extends Error {
  readonly code: Extract<CliErrorCode, `PLX_HEALTH_${string}`>;

  constructor(code: HealthError['code'], message: string) {
    super(message);
    this.name = 'HealthError';
    this.code = code;
  }
}

/** One probe: '' when the endpoint answered 200, else why not. */
async function probe(url: string, timeoutMs: number, dispatcher: Agent): Promise<string> {
  try {
    const res = await request(url, { method: 'GET', dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    return res.statusCode === 200 ? '' : `${url}: HTTP ${res.statusCode}`;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `${url}: ${typeof code === 'string' ? code : (err as Error).message}`;
  }
}

/** Resolves when one of `urls` is healthy; otherwise throws PLX_HEALTH_UNHEALTHY naming each failure. */
async function checkHealth(urls: readonly string[], timeoutMs: number): Promise<string> {
  for (const u of urls) {
    if (!/^https?:\/\//.test(u)) throw new HealthError('PLX_HEALTH_BAD_ARGUMENT', `health URL "${u}" must start with http:// or https://`);
  }
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
  try {
    const failures = await Promise.all(urls.map((u) => probe(u, timeoutMs, dispatcher)));
    const ok = urls.find((_u, i) => failures[i] === '');
    if (ok) return ok;
    throw new HealthError('PLX_HEALTH_UNHEALTHY', `no healthy endpoint: ${failures.join('; ')}`);
  } finally {
    await dispatcher.close();
  }
}

export function registerHealthCommand(program: Command): void {
  program.command('health')
    .summary('Probe the local broker or agent /healthz; exit 0 when healthy, 1 when not')
    .description('Probe /healthz of the broker or agent running beside this command and exit 0 when it '
      + `answers 200, else 1 with error [PLX_HEALTH_UNHEALTHY]. Without --url (or ${HEALTH_URL_ENV}) it tries `
      + `${DEFAULT_HEALTH_URLS.join(' and ')}: the container image's HEALTHCHECK.`)
    .option('--url <url>', `the exact /healthz URL to probe (env ${HEALTH_URL_ENV})`)
    .option('--timeout-ms <ms>', 'give up on an endpoint after this long', '3000')
    .option('-q, --quiet', 'print nothing when healthy')
    .addHelpText('after', '\nExamples:\n  plexus health\n  plexus health --url http://127.0.0.1:9100/healthz\n')
    .action(async (flags: { url?: string; timeoutMs: string; quiet?: boolean }) => {
      const timeoutMs = Number(flags.timeoutMs);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new HealthError('PLX_HEALTH_BAD_ARGUMENT', `--timeout-ms "${flags.timeoutMs}" must be a positive integer`);
      const url = flags.url ?? (process.env[HEALTH_URL_ENV] || undefined);
      const healthy = await checkHealth(url ? [url] : DEFAULT_HEALTH_URLS, timeoutMs);
      if (!flags.quiet) process.stdout.write(`healthy: ${healthy}\n`);
    });
}
