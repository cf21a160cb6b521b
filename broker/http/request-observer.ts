// One onResponse hook per app: the request log line (request id, method, route pattern,
// status, duration, and who called: `cluster` for an agent, `caller` for a person or the
// admin) and, when metrics are wired, the request counters and histogram.
// Labels use the route pattern (`/v1/exports/:namespace/:name`), never the raw URL, so
// cardinality stays bounded; unmatched paths share one label. The same hook counts what
// only the route reveals: certificates issued, cluster renewals and catalog writes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity } from '../../certs/identity.ts';
import { catalogPaths } from '../api/catalog.ts';
import { metricsPaths } from '../api/metrics.ts';
import { paths } from '../api/types.ts';
import { userPaths } from '../api/users.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';

const ISSUED: Readonly<Record<string, string>> = {
  [`POST ${paths.join}`]: 'join',
  [`POST ${paths.renew}`]: 'renew',
  [`POST ${userPaths.login}`]: 'user',
  [`POST ${userPaths.renew}`]: 'user',
  [`POST ${metricsPaths.adminIdentity}`]: 'metrics',
};

const CATALOG_WRITES: Readonly<Record<string, string>> = {
  [`PUT ${catalogPaths.exports}/:namespace/:name`]: 'upsert',
  [`DELETE ${catalogPaths.exports}/:namespace/:name`]: 'withdraw',
  [`PUT ${catalogPaths.exports}`]: 'sync',
};

/** A watch is a stream that lasts as long as the agent stays: counted, but kept out of the latency histogram. */
const STREAMS: ReadonlySet<string> = new Set([catalogPaths.watch(0).split('?')[0]!]);

/** The label of a request's route: its pattern, or `unmatched` for a 404 on no route. */
export function routeLabel(pattern: string | undefined): string {
  return pattern ?? 'unmatched';
}

function recordOutcome(m: BrokerMetrics, key: string, status: number): void {
  if (key === `POST ${paths.renew}`) m.renewals.inc({ outcome: status < 300 ? 'success' : status < 500 ? 'refused' : 'error' });
  if (status >= 300) return;
  const kind = ISSUED[key];
  if (kind) m.certificatesIssued.inc({ kind });
  const op = CATALOG_WRITES[key];
  if (op) m.catalogWrites.inc({ op });
}

/** Who made an authenticated request; undefined for anonymous ones (join, trust bundle, health) and refused ones. */
export type CallerOf = (request: FastifyRequest) => Identity | undefined;

function callerFields(who: Identity | undefined): { cluster?: string; caller?: string } {
  if (!who) return {};
  return who.kind === 'cluster' ? { cluster: who.name } : { caller: `${who.kind}:${who.name}` };
}

export function observeRequests(app: FastifyInstance, metrics?: BrokerMetrics, callerOf?: CallerOf): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request.routeOptions.url);
    const { method } = request;
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    // reqId is not repeated here: request.log carries it already.
    const fields = { method, route, status, durationMs: Math.round(ms * 100) / 100, ...callerFields(callerOf?.(request)) };
    if (status >= 500) request.log.error(fields, 'request completed');
    else request.log.info(fields, 'request completed');
    if (!metrics) return;
    metrics.requests.inc({ route, method, status: String(status) });
    if (!STREAMS.has(route)) metrics.requestDuration.observe({ route }, ms / 1000);
    recordOutcome(metrics, `${method} ${route}`, status);
  });
}
