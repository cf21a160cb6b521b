// `plexus gateway run`: wiring only. Identity and exports from files (re-read on a timer,
// applied when they changed and are valid), the receiving server on one port, a sending
// client with one local listener per --forward, /metrics. Membership is the static
// --member list until the agent feeds it from the broker.
import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { MetricsServer } from '../agent/metrics/metrics-server.ts';
import { GatewayClient } from './client.ts';
import type { GatewayConfig } from './config.ts';
import { GatewayError } from './errors.ts';
import { ExportTable } from './export-table.ts';
import { Forward } from './forward.ts';
import { checkGatewayIdentity, readGatewayTls, type GatewayIdentity } from './identity-source.ts';
import { GatewayMetrics } from './metrics.ts';
import { GatewayServer } from './server.ts';

export interface RunningGateway {
  readonly port: number;
  readonly forwardPorts: readonly number[];
  readonly metricsUrl: string | undefined;
  stop(): Promise<void>;
}

export async function loadExports(file: string | undefined): Promise<{ table: ExportTable; text: string }> {
  if (file === undefined) return { table: ExportTable.empty(), text: '' };
  let text: string;
  let doc: unknown;
  try {
    text = await readFile(file, 'utf8');
    doc = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('PLX_GATEWAY_BAD_EXPORTS', `cannot read the export table ${file}: ${(err as Error).message}`, { cause: err });
  }
  const exports = (doc as { exports?: unknown } | null)?.exports;
  if (!Array.isArray(exports)) throw new GatewayError('PLX_GATEWAY_BAD_EXPORTS', `${file} must be a JSON object {"exports": [...]}`);
  return { table: ExportTable.from(exports), text };
}

export async function startGateway(config: GatewayConfig, o: { logger?: Logger } = {}): Promise<RunningGateway> {
  const logger = o.logger ?? pino({ level: config.logLevel, base: { service: 'plexus-gateway' }, redact: { paths: ['keyPem', '*.keyPem'], censor: '[redacted]' } });
  let identity: GatewayIdentity = await checkGatewayIdentity(await readGatewayTls(config.identity), new Date());
  let exports = await loadExports(config.exportsFile);
  const metrics = new GatewayMetrics();
  const members = new Set(config.members);
  const server = new GatewayServer({
    host: config.listen.host, port: config.listen.port, clusterset: identity.clusterset, tls: identity.tls,
    exports: exports.table, metrics, logger: logger.child({ component: 'gateway-server' }),
    // Static until the agent wires the broker's catalog (members) and revoked serials in.
    membership: { isMember: (c) => members.has(c), isRevoked: () => false },
  });
  const client = new GatewayClient({ clusterset: identity.clusterset, tls: identity.tls, metrics, logger: logger.child({ component: 'gateway-client' }), sessionsPerPeer: config.sessionsPerPeer, openTimeoutMs: config.openTimeoutMs });
  const forwards = config.forwards.map((f) => new Forward({
    host: f.listen.host, port: f.listen.port, peer: { cluster: f.cluster, host: f.gateway.host, port: f.gateway.port }, target: f.target,
    client, metrics, logger: logger.child({ component: 'gateway-forward', peer: f.cluster }),
  }));
  const metricsServer = config.metricsListen === 'off' ? undefined : new MetricsServer({ listen: config.metricsListen, registry: metrics.registry, notReady: () => null });
  const started: { stop(): Promise<void> }[] = [];
  try {
    await server.start();
    started.push({ stop: () => server.close() });
    for (const f of forwards) {
      await f.start();
      started.push({ stop: () => f.close() });
    }
    await metricsServer?.start();
  } catch (err) {
    for (const s of started.reverse()) await s.stop();
    client.close();
    throw err;
  }

  const reload = async () => {
    try {
      const tls = await readGatewayTls(config.identity);
      if (tls.certPem !== identity.tls.certPem || tls.keyPem !== identity.tls.keyPem || tls.trustBundlePem !== identity.tls.trustBundlePem) {
        const next = await checkGatewayIdentity(tls, new Date());
        if (next.cluster !== identity.cluster || next.clusterset !== identity.clusterset) {
          throw new GatewayError('PLX_GATEWAY_IDENTITY', `the identity files now name ${next.cluster} in ${next.clusterset}, not ${identity.cluster} in ${identity.clusterset}; keeping the current identity`);
        }
        server.useIdentity(tls);
        client.useIdentity(tls);
        logger.info({ serial: next.serial, previous: identity.serial }, 'gateway identity rotated: new connections use the new certificate');
        identity = next;
      }
      if (config.exportsFile !== undefined) {
        const text = await readFile(config.exportsFile, 'utf8');
        if (text !== exports.text) {
          exports = await loadExports(config.exportsFile);
          server.setExports(exports.table);
          logger.info({ services: exports.table.services() }, 'gateway export table reloaded');
        }
      }
    } catch (err) {
      logger.error({ err: (err as Error).message, code: (err as { code?: string }).code }, 'gateway reload failed; keeping what runs');
    }
  };
  let reloading = Promise.resolve();
  const timer = setInterval(() => {
    reloading = reloading.then(reload);
  }, config.reloadIntervalMs);
  timer.unref();

  logger.info({ cluster: identity.cluster, clusterset: identity.clusterset, port: server.port, exports: exports.table.services(), forwards: forwards.map((f) => f.port) }, 'gateway running');
  return {
    port: server.port,
    forwardPorts: forwards.map((f) => f.port),
    metricsUrl: metricsServer?.url,
    stop: async () => {
      clearInterval(timer);
      await reloading;
      await metricsServer?.stop();
      for (const s of started.reverse()) await s.stop();
      client.close();
    },
  };
}

/** Runs until SIGTERM/SIGINT, then stops. */
export async function runGateway(config: GatewayConfig): Promise<void> {
  const running = await startGateway(config);
  process.stdout.write(`${JSON.stringify({ gateway: running.port, forwards: running.forwardPorts, metrics: running.metricsUrl ?? null })}\n`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await running.stop();
}
