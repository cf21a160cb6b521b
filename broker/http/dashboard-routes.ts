// The read-only fleet dashboard: one HTML page, its stylesheet and script, served from
// broker/dashboard/ as static strings (no build step). The access table (route-access.ts)
// admits only the admin, so the page and the JSON it polls (/v1/admin/fleet, /v1/admin/services) need the
// same mTLS admin certificate as the API; a browser presents it as a client certificate.
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { fleetPaths } from '../api/fleet.ts';

/** Only this page's own script, style and fetches; no inline code, no framing, no forms. */
export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

function asset(url: URL): string {
  return readFileSync(url, 'utf8');
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const files = {
    html: asset(new URL('../dashboard/dashboard.html', import.meta.url)),
    css: asset(new URL('../dashboard/dashboard.css', import.meta.url)),
    js: asset(new URL('../dashboard/dashboard.js', import.meta.url)),
  };
  const send = (reply: FastifyReply, type: string, body: string) => reply
    .type(type)
    .headers({
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    })
    .send(body);
  app.get(fleetPaths.dashboard, async (_request, reply) => send(reply, 'text/html; charset=utf-8', files.html));
  app.get(`${fleetPaths.dashboard}/dashboard.css`, async (_request, reply) => send(reply, 'text/css; charset=utf-8', files.css));
  app.get(`${fleetPaths.dashboard}/dashboard.js`, async (_request, reply) => send(reply, 'text/javascript; charset=utf-8', files.js));
};
