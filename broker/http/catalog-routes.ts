// Service catalog endpoints (broker/api/catalog.ts). The access table (route-access.ts)
// admits only cluster identities; the caller's cluster ID comes from its
// certificate, never from the request. Bodies are validated in full before anything is
// stored; the watch stream is written straight to the socket (the hub owns it).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  catalogPaths, exportSpecSchema, exportSyncRequestSchema, namespaceSchema, serviceNameSchema,
} from '../api/catalog.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { leaseRequestSchema, type LeaseReport } from '../api/fleet.ts';
import { BrokerError } from '../errors.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';

export interface CatalogRoutesOptions {
  readonly catalog: Catalog;
  readonly auth: Authenticator;
  readonly bodyLimitBytes: number;
  /** Receives the report an agent sends with its heartbeat (broker/fleet/agent-reports.ts). */
  readonly onLeaseReport?: (cluster: string, report: LeaseReport) => Promise<void>;
}

interface KeyParams {
  namespace: string;
  name: string;
}

const keyParamsSchema = z.object({ namespace: namespaceSchema, name: serviceNameSchema });
// An empty body is an older agent's heartbeat: it renews the lease without a report.
const leaseBodySchema = leaseRequestSchema.optional();
const watchQuerySchema = z.object({ since: z.string().regex(/^\d{1,15}$/, 'must be a revision (a non-negative integer)').transform(Number) });

function pathMismatch(params: KeyParams, body: { namespace: string; name: string }): BrokerError {
  const details = [];
  if (params.namespace !== body.namespace) details.push({ path: 'namespace', message: `must equal the path's "${params.namespace}"` });
  if (params.name !== body.name) details.push({ path: 'name', message: `must equal the path's "${params.name}"` });
  return new BrokerError('PLX_BROKER_VALIDATION', 'the body names another export than the path', { details });
}

export const catalogRoutes: FastifyPluginAsync<CatalogRoutesOptions> = async (app, { catalog, auth, bodyLimitBytes, onLeaseReport }) => {
  const caller = (request: FastifyRequest) => auth.principalOf(request).identity.name;
  const write = { bodyLimit: bodyLimitBytes };

  app.put<{ Params: KeyParams }>(`${catalogPaths.exports}/:namespace/:name`, write, async (request) => {
    const params = parseWith(keyParamsSchema, request.params);
    const spec = parseWith(exportSpecSchema, request.body);
    const cluster = caller(request);
    if (spec.cluster !== cluster) throw new BrokerError('PLX_BROKER_FORBIDDEN', `cluster "${cluster}" may write only its own exports`);
    if (spec.namespace !== params.namespace || spec.name !== params.name) throw pathMismatch(params, spec);
    const res = await catalog.upsert(cluster, spec);
    request.log.debug({ cluster, namespace: spec.namespace, name: spec.name, revision: res.revision }, 'export written');
    return res;
  });

  app.delete<{ Params: KeyParams }>(`${catalogPaths.exports}/:namespace/:name`, async (request) => {
    const params = parseWith(keyParamsSchema, request.params);
    return catalog.withdraw(caller(request), params.namespace, params.name);
  });

  app.put(catalogPaths.exports, write, async (request) => {
    const body = parseWith(exportSyncRequestSchema, request.body);
    const cluster = caller(request);
    const res = await catalog.sync(cluster, body.exports);
    request.log.info({ cluster, ...res }, 'exports synced');
    return res;
  });

  app.get(catalogPaths.exports, async (request) => catalog.list(caller(request)));

  app.post(catalogPaths.lease, async (request) => {
    const body = parseWith(leaseBodySchema, request.body);
    const cluster = caller(request);
    const res = await catalog.heartbeat(cluster);
    if (body?.report) await onLeaseReport?.(cluster, body.report);
    return res;
  });

  // Info, like 'watch started': one line per (re)connection shows whether agents resumed from
  // a revision or had to relist, which is what a broker restart must not force (e2e broker-crash).
  app.get(catalogPaths.catalog, async (request, reply) => {
    request.log.info({ cluster: caller(request), revision: catalog.revision }, 'catalog snapshot served');
    return reply.type('application/json').send(catalog.snapshotJson());
  });

  app.get(catalogPaths.watch(0).split('?')[0]!, async (request: FastifyRequest, reply: FastifyReply) => {
    const { since } = parseWith(watchQuerySchema, request.query);
    reply.hijack();
    const res = reply.raw;
    // One stream per connection; closing it after the stream ends lets shutdown finish.
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-store',
      'x-request-id': request.id,
      connection: 'close',
    });
    res.flushHeaders();
    request.log.info({ cluster: caller(request), since }, 'watch started');
    catalog.watch(res, since, caller(request));
  });
};
