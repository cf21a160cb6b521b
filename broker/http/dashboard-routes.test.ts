import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardRoutes } from './dashboard-routes.ts';

const file = (name: string) => readFileSync(new URL(`../dashboard/${name}`, import.meta.url), 'utf8');

describe('dashboard routes', () => {
  it('serve the page, its stylesheet and script with a strict CSP and no caching', async () => {
    const app = Fastify();
    await app.register(dashboardRoutes);
    for (const [url, type] of [['/dashboard', 'text/html'], ['/dashboard/dashboard.css', 'text/css'], ['/dashboard/dashboard.js', 'text/javascript']]) {
      const r = await app.inject({ method: 'GET', url: url! });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(new RegExp(`^${type}; charset=utf-8$`));
      expect(r.headers).toMatchObject({ 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    }
    await app.close();
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-(inline|eval)/);
  });

  it('has no inline script or style for the CSP to block, and the script writes data only as text', () => {
    const html = file('dashboard.html');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const js = file('dashboard.js').replace(/^\s*\/\/.*$/gm, ''); // code only, not the comments that explain it
    // HTML sinks would turn a value from the API into markup; the page never uses them.
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    expect(js).toMatch(/textContent|createTextNode/);
  });
});
