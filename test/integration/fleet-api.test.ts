// The fleet API on a real broker over real TLS: agents' lease reports (validated, stored in
// migration 7, kept across a restart), the admin-only fleet and services views, and
// refusal of every other identity.
import { afterEach, describe, expect, it } from 'vitest';
import { catalogPaths } from '../../broker/api/catalog.ts';
import { fleetPaths, fleetServicesSchema, fleetStatusSchema } from '../../broker/api/fleet.ts';
import { errorCode, joinCluster, startTestBroker, type ClientIdentity, type TestBroker } from './support/broker-fixture.ts';
import { restartTestBroker } from './support/catalog-fixture.ts';

describe('fleet API', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  const lease = (tb: TestBroker, identity: ClientIdentity, body: unknown) => tb.call(catalogPaths.lease, { method: 'POST', body, identity });
  const fleet = async (tb: TestBroker) => fleetStatusSchema.parse((await tb.call(fleetPaths.fleet, { identity: tb.admin })).body);

  it('takes a report with the heartbeat, shows it to the admin, and keeps it across a restart', async () => {
    b = await startTestBroker({ config: { leaseDurationSeconds: 30 } });
    const east = (await joinCluster(b, 'east')).identity;
    await joinCluster(b, 'west');
    const report = { agentVersion: '1.2.3', imports: [{ namespace: 'shop', name: 'cart' }] };
    expect((await lease(b, east, { report })).status).toBe(200);

    const s = await fleet(b);
    expect(s.clusters.map((c) => [c.cluster, c.health, c.agentVersion, c.imports])).toEqual([['east', 'Healthy', '1.2.3', 1], ['west', 'Unknown', null, null]]);
    expect(s.clusters[0]!.reportedAt).toBe(b.clock.now().toISOString());
    expect(Date.parse(s.clusters[0]!.certificateNotAfter!)).toBeGreaterThan(b.clock.now().getTime());
    expect(fleetServicesSchema.parse((await b.call(fleetPaths.services, { identity: b.admin })).body)).toEqual({ catalogRevision: s.catalogRevision, services: [] });

    // An older agent's empty heartbeat renews the lease and leaves the last report alone.
    expect((await lease(b, east, {})).status).toBe(200);
    b = await restartTestBroker(b);
    expect((await fleet(b)).clusters.find((c) => c.cluster === 'east')).toMatchObject({ agentVersion: '1.2.3', imports: 1 });
  });

  it.each([
    ['an unknown field', { report: { agentVersion: '1.0.0', secret: 'x' } }],
    ['a version with markup', { report: { agentVersion: '<img src=x onerror=alert(1)>' } }],
    ['an import that is not a Service name', { report: { agentVersion: '1.0.0', imports: [{ namespace: 'shop', name: 'Cart!' }] } }],
    ['an unknown top-level field', { hello: true }],
  ])('refuses a lease report with %s, before renewing anything', async (_what, body) => {
    b = await startTestBroker();
    const east = (await joinCluster(b, 'east')).identity;
    const r = await lease(b, east, body);
    expect([r.status, errorCode(r)]).toEqual([400, 'PLX_BROKER_VALIDATION']);
    expect((await fleet(b)).clusters[0]).toMatchObject({ health: 'Unknown', agentVersion: null });
  });

  it('serves the fleet views and the dashboard to the admin identity only', async () => {
    b = await startTestBroker();
    const east = (await joinCluster(b, 'east')).identity;
    for (const path of [fleetPaths.fleet, fleetPaths.services, fleetPaths.dashboard, `${fleetPaths.dashboard}/dashboard.js`]) {
      const anonymous = await b.call(path);
      expect([path, anonymous.status, errorCode(anonymous)]).toEqual([path, 401, 'PLX_BROKER_UNAUTHENTICATED']);
      const cluster = await b.call(path, { identity: east });
      expect([path, cluster.status, errorCode(cluster)]).toEqual([path, 403, 'PLX_BROKER_FORBIDDEN']);
      // The page itself (HTML, not JSON) is fetched with the admin certificate in the e2e browser test.
      if (!path.startsWith(fleetPaths.dashboard)) expect((await b.call(path, { identity: b.admin })).status).toBe(200);
    }
  });
});
