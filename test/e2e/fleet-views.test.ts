// The fleet views end to end: two real control planes, a real broker and two real agents
// (probing each other over mTLS), read through the real `plexus status`, `plexus services`
// and `plexus health` processes and through the dashboard in headless Chromium set up as an
// operator's browser: the PKCS#12 from `plexus broker admin-p12` in its NSS database and
// the clusterset root trusted there (server verification is not waived).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FleetServices, FleetStatus } from '../../broker/api/fleet.ts';
import { plexusBin, repoRoot, runPlexus } from '../support/plexus-process.ts';
import { gotoPage, launchDashboardBrowser, pixelStats, pngSize, type DashboardBrowser } from './support/dashboard-browser.ts';
import { createService, ensureNamespace, exportService, setEndpoints } from './support/objects.ts';
import { waitFor } from '../harness/wait-for.ts';
import { applyBaseline } from './support/rbac.ts';
import { useMesh } from './support/use-mesh.ts';

const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const RESULTS = path.join(repoRoot, 'test-results', 'fleet-views');

describe('fleet views: plexus status, plexus services, the dashboard', () => {
  const fixture = useMesh({ clusters: 2, leaseDuration: '10s', agentArgs: (c) => ['--zone', `zone-${c.slice(-1)}`, '--region', 'r1'] });
  const mesh = () => fixture.mesh;
  const admin = () => ['--data-dir', mesh().brokerDir];

  async function json<T>(command: 'status' | 'services'): Promise<T> {
    const r = await runPlexus([command, ...admin(), '-o', 'json']);
    if (r.code !== 0) throw new Error(`plexus ${command} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  // What every view shows, set up here so that each test runs alone (-t) too: cart exported
  // from cluster-1 and an RBAC baseline.
  let rbacRevision = 0;
  beforeAll(async () => {
    const [c1, c2] = [mesh().cluster(0), mesh().cluster(1)];
    for (const c of [c1, c2]) await ensureNamespace(c, 'shop');
    await createService(c1, 'shop', 'cart');
    await setEndpoints(c1, 'shop', 'cart', ['10.81.0.1']);
    await exportService(c1, 'shop', 'cart');
    rbacRevision = await applyBaseline(mesh(), [{
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'fleet-viewer' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    }]);
  });
  const existed = (e: { code?: number }) => { if (e.code !== 409) throw e; };
  /** cluster-2 exports cart headless: a TypeConflict (whether or not the services test did it already). */
  const conflictingCart = async () => {
    await createService(mesh().cluster(1), 'shop', 'cart', { clusterIP: 'None' }).catch(existed);
    await exportService(mesh().cluster(1), 'shop', 'cart').catch(existed);
  };
  const fleetReported = () => waitFor(async () => {
    const s = await json<FleetStatus>('status');
    const ready = s.clusters.length === 2 && s.clusters.every((c) => c.health === 'Healthy' && c.agentVersion === VERSION
      && c.imports !== null && c.imports >= 1 && Object.keys(c.latencies).length === 1 && c.rbac.compliant && c.rbac.appliedRevision === rbacRevision);
    return ready ? s : undefined;
  }, { what: 'both clusters reported, measured and compliant', timeoutMs: 60_000 });

  it('status: every cluster healthy, with measured latency, agent version, certificate expiry, RBAC revision and imports', async () => {
    const status = await fleetReported();
    expect(status.clusterset).toBe('e2e.plexus.local');
    const one = status.clusters.find((c) => c.cluster === 'cluster-1')!;
    expect(one.exports).toBe(1);
    expect(one.latencies['cluster-2']).toBeGreaterThanOrEqual(0);
    expect(one.zone).toBe('zone-1');
    expect(Date.parse(one.certificateNotAfter!)).toBeGreaterThan(Date.parse(status.generatedAt));

    const table = await runPlexus(['status', ...admin()]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CLUSTER\s+HEALTH\s+LAST SEEN\s+LATENCY\s+VERSION\s+CERT EXPIRES\s+RBAC REV\s+DRIFT\s+EXPORTS\s+IMPORTS$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['cluster-1', 'Healthy'], ['cluster-2', 'Healthy']]);
    expect(lines[1]).toContain('cluster-2=');
    expect(lines[1]).toContain(`${rbacRevision}/${rbacRevision} ok`);
  });

  it('services: where each service is exported and imported, and its conflicts', async () => {
    await conflictingCart();
    const services = await waitFor(async () => {
      const s = await json<FleetServices>('services');
      const cart = s.services.find((x) => x.namespace === 'shop' && x.name === 'cart');
      return cart && cart.exportedBy.length === 2 && cart.importedBy.length === 2 && cart.conflicts.length === 2 ? cart : undefined;
    }, { what: 'cart exported by both, imported by both, with cluster-2 in TypeConflict', timeoutMs: 60_000 });
    expect(services).toMatchObject({
      type: 'ClusterSetIP', ports: ['http:80/TCP'], exportedBy: ['cluster-1', 'cluster-2'], importedBy: ['cluster-1', 'cluster-2'],
      conflicts: [{ cluster: 'cluster-1', reasons: ['TypeConflict'], excluded: false }, { cluster: 'cluster-2', reasons: ['TypeConflict'], excluded: true }],
    });
    const table = await runPlexus(['services', ...admin()]);
    expect(table.stdout).toMatch(/^NAMESPACE\s+NAME\s+TYPE\s+PORTS\s+EXPORTED BY\s+IMPORTED BY\s+CONFLICTS\n/);
    expect(table.stdout).toMatch(/shop\s+cart\s+ClusterSetIP\s+http:80\/TCP\s+cluster-1,cluster-2\s+cluster-1,cluster-2\s+cluster-1:TypeConflict,cluster-2:TypeConflict\(excluded\)/);
  });

  it('status --watch -o json prints one JSON document per line, again when something changes', async () => {
    const child = spawn(process.execPath, [plexusBin, 'status', ...admin(), '-o', 'json', '--watch', '--interval', '1s'], {
      cwd: repoRoot, env: { ...process.env, PLEXUS_BROKER_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const docs: FleetStatus[] = [];
      createInterface({ input: child.stdout! }).on('line', (l) => docs.push(JSON.parse(l) as FleetStatus));
      await waitFor(async () => docs.length >= 1, { what: 'first document' });
      const label = await runPlexus(['broker', 'cluster', 'label', 'cluster-2', 'tier=gold', ...admin()]);
      expect(label.code, label.stderr).toBe(0);
      const changed = await waitFor(async () => docs.find((d) => d.clusters.some((c) => c.labels.tier === 'gold')), { what: 'a document with the new label' });
      expect(changed.clusters).toHaveLength(2);
    } finally {
      child.kill('SIGINT');
    }
    const [code] = await new Promise<[number | null]>((resolve) => child.on('exit', (c) => resolve([c])));
    expect(code).toBe(0);
  });

  it('fails with a stable code when the broker is unreachable, and plexus health probes the broker\'s and the agent\'s /healthz', async () => {
    const down = await runPlexus(['status', ...admin(), '--broker', 'https://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error \[PLX_BROKER_UNREACHABLE\]/);
    const healthy = await runPlexus(['health', '--url', `${mesh().brokerUrl}/healthz`]);
    expect(healthy.code, healthy.stderr).toBe(0);
    // The agent's own /healthz (its --metrics-listen, a free loopback port here), as logged at start.
    const log = readFileSync(path.join(mesh().dir, 'agent-cluster-1.log'), 'utf8');
    const metricsUrl = /"metricsUrl":"(http:\/\/[^"]+)"/.exec(log)?.[1];
    expect(metricsUrl, 'agent logged its metrics URL').toBeDefined();
    const agent = await runPlexus(['health', '--url', `${metricsUrl}/healthz`]);
    expect(agent.code, agent.stderr).toBe(0);
    const unhealthy = await runPlexus(['health', '--url', 'http://127.0.0.1:1/healthz']);
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stderr).toMatch(/^error \[PLX_HEALTH_UNHEALTHY\]/);
  });

  describe('dashboard in headless Chromium', () => {
    let browser: DashboardBrowser | undefined;
    const open = async (o: { adminIdentity: boolean; trustRoot: boolean }) => {
      browser = await launchDashboardBrowser({ brokerUrl: mesh().brokerUrl, brokerDir: mesh().brokerDir, ...o });
      return browser;
    };
    afterEach(async () => {
      await browser?.close();
      browser = undefined;
    });

    it('is refused without the admin client certificate', async () => {
      const page = await (await open({ adminIdentity: false, trustRoot: true })).newPage();
      const res = await gotoPage(page, `${mesh().brokerUrl}/dashboard`);
      expect(res?.status()).toBe(401);
      expect(await page.textContent('body')).toContain('PLX_BROKER_UNAUTHENTICATED');
    });

    // The browser once ran with ignoreHTTPSErrors: it would have shown a dashboard served
    // by any certificate at all. Now the root must be trusted in the profile, as a user does.
    it('does not load the dashboard when the clusterset root is not trusted, even with the admin PKCS#12 imported', async () => {
      const page = await (await open({ adminIdentity: true, trustRoot: false })).newPage();
      await expect(gotoPage(page, `${mesh().brokerUrl}/dashboard`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    });

    it('shows the real clusters, services and compliance, under a strict CSP, and renders a non-blank page', async () => {
      await conflictingCart();
      await fleetReported();
      await waitFor(async () => (await json<FleetServices>('services')).services.find((x) => x.name === 'cart')?.conflicts.length === 2, { what: 'cart in TypeConflict', timeoutMs: 60_000 });
      const b = await open({ adminIdentity: true, trustRoot: true });
      const page = await b.newPage();
      const problems: string[] = [];
      // A browser profile asks for /favicon.ico on its own; the dashboard has none, and that 404 is not the page's.
      page.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(`${m.text()} (${m.location().url})`); });
      page.on('pageerror', (e) => problems.push(e.message));
      const res = await gotoPage(page, `${mesh().brokerUrl}/dashboard`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.waitForSelector('#clusters tbody tr[data-cluster="cluster-2"]');
      expect(await page.locator('#clusters tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cluster')))).toEqual(['cluster-1', 'cluster-2']);
      expect(await page.textContent('#clusters tbody tr[data-cluster="cluster-1"]')).toContain('Healthy');
      expect(await page.textContent('#services tbody tr[data-service="shop/cart"]')).toContain('cluster-2: TypeConflict (excluded)');
      expect(await page.locator('#rbac li.compliant').count()).toBe(2);
      expect(await page.locator('#map circle.node.Healthy').count()).toBe(2);
      expect(await page.textContent('#map')).toMatch(/\d+\.\d ms/);
      expect(await page.locator('#certs rect.bar').count()).toBe(2);
      expect(await page.textContent('#clusterset')).toBe('e2e.plexus.local');
      expect(problems).toEqual([]);

      const png = await page.screenshot({ fullPage: false });
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(path.join(RESULTS, 'dashboard.png'), png);
      expect(pngSize(png)).toEqual({ width: 1280, height: 900 });
      const stats = await pixelStats(b, png);
      expect(stats.colours).toBeGreaterThan(8);
      expect(stats.inked).toBeGreaterThan(0.01);
      expect(stats.inked).toBeLessThan(0.95);
    });
  });

  // Regression (issue 12, npm run demo "timed out … waiting for every active cluster
  // reported"): the demo waited for a cluster whose agent it had stopped. A dead cluster
  // reads as what it is: Unreachable, how long ago it was last seen, what it last reported.
  it('shows a cluster whose agent was stopped as Unreachable, with when it was last seen and its last-known version and imports', async () => {
    await fleetReported();
    const before = (await json<FleetStatus>('status')).clusters.find((c) => c.cluster === 'cluster-2')!;
    expect(before.imports).not.toBeNull();
    await mesh().stopAgent('cluster-2');
    const dead = await waitFor(async () =>
      (await json<FleetStatus>('status')).clusters.find((c) => c.cluster === 'cluster-2' && c.health === 'Unreachable'), { what: 'cluster-2 Unreachable' });
    expect(dead).toMatchObject({ agentVersion: VERSION, imports: before.imports });
    const table = await runPlexus(['status', ...admin()]);
    expect(table.code, table.stderr).toBe(0);
    const row = table.stdout.split('\n').find((l) => l.startsWith('cluster-2 '));
    expect(row).toMatch(new RegExp(`^cluster-2\\s+Unreachable\\s+\\d+s ago\\s.*\\s${before.imports}$`));
  });
});
