// Who may call what on the broker's listener: ONE table, checked on every request by one
// hook (authenticate.ts, Authenticator.guard). A route that is not in the table fails the
// broker at start (onRoute), so a new route cannot be served without deciding who calls it.
// Callers are exact identities: `admin` is spiffe://<cs>/admin/admin and nothing else,
// `metrics` is spiffe://<cs>/admin/metrics (it reads /metrics and nothing else).
import { ADMIN_NAME, METRICS_READER_NAME } from '../admin-identity.ts';
import type { Principal } from './authenticate.ts';

export type Caller = 'cluster' | 'user' | 'admin' | 'metrics';

export interface RouteAccess {
  /** `anyone`: no client certificate needed (join and login carry a one-time token instead). */
  readonly allow: 'anyone' | readonly Caller[];
  /** POST /v1/renew: only the newest certificate, also shortly after it expired (authenticate.ts). */
  readonly renewal?: true;
}

const anyone: RouteAccess = { allow: 'anyone' };
const cluster: RouteAccess = { allow: ['cluster'] };
const admin: RouteAccess = { allow: ['admin'] };

/** Keyed by `METHOD /route/pattern`, as fastify names a route (HEAD is checked as GET). */
export const brokerRouteAccess: Readonly<Record<string, RouteAccess>> = Object.freeze({
  'GET /healthz': anyone,
  'GET /readyz': anyone,
  'GET /v1/trust-bundle': anyone,
  'POST /v1/join': anyone,
  'POST /v1/users/login': anyone,

  'POST /v1/renew': { allow: ['cluster'], renewal: true },
  'POST /v1/users/renew': { allow: ['user'] },

  'GET /v1/rbac/baseline': cluster,
  'PUT /v1/rbac/status': cluster,
  'GET /v1/users/revoked': cluster,
  'POST /v1/trust-bundle/ack': cluster,
  'GET /v1/exports': cluster,
  'PUT /v1/exports': cluster,
  'PUT /v1/exports/:namespace/:name': cluster,
  'DELETE /v1/exports/:namespace/:name': cluster,
  'POST /v1/lease': cluster,
  'GET /v1/catalog': cluster,
  'GET /v1/watch': cluster,
  'PUT /v1/advertisement': cluster,
  // Where every cluster sits and its proxy URL: for members of the clusterset, not for Prometheus.
  'GET /v1/advertisements': { allow: ['cluster', 'user', 'admin'] },

  'GET /metrics': { allow: ['admin', 'metrics'] },

  'GET /v1/admin/ca': admin,
  'POST /v1/admin/ca/rotate': admin,
  'POST /v1/admin/ca/admin-identity': admin,
  'GET /v1/admin/tokens': admin,
  'POST /v1/admin/tokens': admin,
  'DELETE /v1/admin/tokens/:id': admin,
  'GET /v1/admin/clusters': admin,
  'GET /v1/admin/clusters/:id': admin,
  'DELETE /v1/admin/clusters/:id': admin,
  'PUT /v1/admin/clusters/:id/labels': admin,
  'GET /v1/admin/rbac': admin,
  'PUT /v1/admin/rbac': admin,
  'POST /v1/admin/rbac/diff': admin,
  'GET /v1/admin/rbac/status': admin,
  'GET /v1/admin/users': admin,
  'POST /v1/admin/users': admin,
  'DELETE /v1/admin/users/:name': admin,
  'POST /v1/admin/metrics-identity': admin,
  'GET /v1/admin/fleet': admin,
  'GET /v1/admin/services': admin,
  'GET /dashboard': admin,
  'GET /dashboard/dashboard.css': admin,
  'GET /dashboard/dashboard.js': admin,
});

export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** The caller a principal is, matched exactly; undefined for an identity no route admits. */
export function callerOf(p: Principal): Caller | undefined {
  const { kind, name } = p.identity;
  if (kind === 'cluster') return 'cluster';
  if (kind === 'user') return 'user';
  if (kind === 'admin' && name === ADMIN_NAME) return 'admin';
  if (kind === 'admin' && name === METRICS_READER_NAME) return 'metrics';
  return undefined;
}
