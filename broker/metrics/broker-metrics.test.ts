import { describe, expect, it } from 'vitest';
import { BrokerMetrics, type BrokerStateSample } from './broker-metrics.ts';

const now = new Date('2026-01-01T00:00:00Z');
const state = (o: Partial<BrokerStateSample> = {}): BrokerStateSample => ({
  now, clusters: [], exports: 0, services: 0, conflicts: 0, revision: 0, watchStreams: 0, certificates: [], rbacCompliant: 0, ...o,
});

describe('BrokerMetrics state gauges', () => {
  it('read the state once per scrape and show it', async () => {
    const m = new BrokerMetrics({ defaultMetrics: false });
    let reads = 0;
    m.setStateSource(async () => {
      reads++;
      return state({
        clusters: [
          { id: 'east', available: true, leaseRenewedAt: new Date(now.getTime() - 4000) },
          { id: 'west', available: false, leaseRenewedAt: new Date(now.getTime() - 90_000) },
          { id: 'north', available: true, leaseRenewedAt: null },
        ],
        exports: 3, services: 2, conflicts: 1, revision: 42, watchStreams: 2, rbacCompliant: 1,
        certificates: [{ cluster: 'east', notAfter: new Date(now.getTime() + 3_600_000) }],
      });
    });
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toContain('plexus_broker_clusters{state="live"} 2');
    expect(text).toContain('plexus_broker_clusters{state="expired"} 1');
    expect(text).toContain('plexus_broker_cluster_lease_age_seconds{cluster="east"} 4');
    expect(text).toContain('plexus_broker_cluster_lease_age_seconds{cluster="west"} 90');
    expect(text).not.toContain('plexus_broker_cluster_lease_age_seconds{cluster="north"}');
    expect(text).toContain('plexus_broker_cluster_certificate_expiry_seconds{cluster="east"} 3600');
    expect(text).toContain('plexus_broker_exports 3');
    expect(text).toContain('plexus_broker_export_conflicts 1');
    expect(text).toContain('plexus_broker_catalog_revision 42');
    expect(text).toContain('plexus_broker_rbac_compliant_clusters 1');
  });

  it('drops the series of a cluster that is gone at the next scrape', async () => {
    const m = new BrokerMetrics({ defaultMetrics: false });
    let clusters: BrokerStateSample['clusters'] = [{ id: 'east', available: true, leaseRenewedAt: now }];
    m.setStateSource(async () => state({ clusters }));
    expect(await m.registry.metrics()).toContain('cluster="east"');
    clusters = [];
    await new Promise((r) => setImmediate(r));
    expect(await m.registry.metrics()).not.toContain('cluster="east"');
  });
});
