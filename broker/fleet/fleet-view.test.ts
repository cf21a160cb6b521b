import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogSnapshot } from '../api/catalog.ts';
import type { RbacComplianceResponse } from '../api/rbac.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { ClusterRecord } from '../enroll/enroll-store.ts';
import type { AgentReportStore } from './agent-report-store.ts';
import { AgentReports } from './agent-reports.ts';
import { FleetView } from './fleet-view.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const clock = { now: () => t0 };

function cluster(id: string, state: ClusterRecord['state'] = 'active'): ClusterRecord {
  return { id, state, epoch: 1, joinedAt: t0, removedAt: null, certificateSerial: 'ab', certificateNotAfter: new Date('2030-01-02T00:00:00Z'), labels: { env: 'prod' } };
}

/** Only what FleetView and AgentReports read: the membership list and the report table, in memory. */
function fakeStore(clusters: ClusterRecord[]) {
  const rows = new Map<string, { cluster: string; report: string; reportedAt: Date }>();
  const reports: AgentReportStore = {
    put: async (r) => void rows.set(r.cluster, r), all: async () => [...rows.values()], delete: async (c) => void rows.delete(c),
  };
  return { clusterset: 'acme.example', listClusters: async () => clusters, reports };
}

const exportOf = (cluster: string, name: string) => ({
  cluster, namespace: 'shop', name, createdAt: t0.toISOString(), type: 'ClusterSetIP' as const, ports: [], clusterIPs: [],
  sessionAffinity: 'None' as const, endpointPorts: [], endpoints: [], annotations: {}, exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], revision: 3,
});

const snapshot: CatalogSnapshot = {
  revision: 7,
  services: [{
    namespace: 'shop', name: 'cart', type: 'ClusterSetIP', sessionAffinity: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [],
    members: [
      { cluster: 'east', createdAt: t0.toISOString(), conflicts: [], excluded: false },
      { cluster: 'west', createdAt: t0.toISOString(), conflicts: ['TypeConflict'], excluded: true },
    ],
  }],
  exports: [exportOf('east', 'cart'), exportOf('west', 'cart')],
  clusters: [
    { cluster: 'east', available: true, leaseRenewedAt: t0.toISOString() },
    { cluster: 'west', available: false, leaseRenewedAt: null },
  ],
  advertisements: [{ cluster: 'east', zone: 'a', region: 'r1', latencies: { west: 1.5, gone: 0.7 }, updatedAt: t0.toISOString(), revision: 5 }],
};

const compliance: RbacComplianceResponse = {
  revision: 2,
  clusters: [{ cluster: 'east', labels: {}, targeted: true, currentRevision: 2, appliedRevision: 2, compliant: true, driftCount: 3, clashes: 0, errors: 0, reportedAt: null, report: null }],
};

describe('FleetView', async () => {
  const store = fakeStore([cluster('east'), cluster('west'), cluster('north'), cluster('gone', 'removed')]);
  let view: FleetView;
  beforeAll(async () => {
    const reports = await AgentReports.open({ store, clock });
    await reports.record('east', { agentVersion: '1.2.3', imports: [{ namespace: 'shop', name: 'cart' }] });
    await reports.record('west', { agentVersion: '1.2.3' });
    await reports.record('gone', { agentVersion: '0.9.0', imports: [{ namespace: 'shop', name: 'cart' }] });
    view = new FleetView({ store, clock, reports, snapshot: () => snapshot, compliance: async () => compliance });
  });

  it('gives one row per active cluster, joining lease, advertisement (RTTs to active peers only), certificate, report and RBAC compliance', async () => {
    const s = await view.status();
    expect(s).toMatchObject({ clusterset: 'acme.example', generatedAt: t0.toISOString(), catalogRevision: 7, rbacRevision: 2 });
    expect(s.clusters.map((c) => [c.cluster, c.health])).toEqual([['east', 'Healthy'], ['west', 'Unreachable'], ['north', 'Unknown']]);
    expect(s.clusters[0]).toEqual({
      cluster: 'east', health: 'Healthy', leaseRenewedAt: t0.toISOString(), labels: { env: 'prod' }, zone: 'a', region: 'r1',
      latencies: { west: 1.5 }, agentVersion: '1.2.3', reportedAt: t0.toISOString(), certificateNotAfter: '2030-01-02T00:00:00.000Z',
      exports: 1, imports: 1,
      rbac: { targeted: true, currentRevision: 2, appliedRevision: 2, compliant: true, driftCount: 3, clashes: 0, errors: 0 },
    });
  });

  it('reports imports as unknown (null) until the agent sent them, and a cluster without a report as not compliant', async () => {
    const [, west, north] = (await view.status()).clusters;
    expect(west).toMatchObject({ imports: null, agentVersion: '1.2.3', zone: null, latencies: {} });
    expect(north).toMatchObject({ imports: null, agentVersion: null, rbac: { compliant: false, appliedRevision: null, currentRevision: 2 } });
  });

  it('lists every service with its exporters, importers among active clusters, and conflicts', async () => {
    expect(await view.services()).toEqual({
      catalogRevision: 7,
      services: [{
        namespace: 'shop', name: 'cart', type: 'ClusterSetIP', ports: ['http:80/TCP'], exportedBy: ['east', 'west'], importedBy: ['east'],
        conflicts: [{ cluster: 'west', reasons: ['TypeConflict'], excluded: true }],
      }],
    });
  });
});

describe('AgentReports', async () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-reports-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the store only when a report changes, and keeps the last one across a restart', async () => {
    let now = t0;
    const reports = await AgentReports.open({ store, clock: { now: () => now } });
    await reports.record('east', { agentVersion: '1.0.0' });
    now = new Date(t0.getTime() + 10_000);
    await reports.record('east', { agentVersion: '1.0.0' });
    expect(await store.reports.all()).toEqual([{ cluster: 'east', report: '{"agentVersion":"1.0.0"}', reportedAt: t0 }]);
    expect(reports.get('east')?.reportedAt).toEqual(now);
    await reports.record('east', { agentVersion: '1.1.0', imports: [] });
    const path = join(dir, 'broker.db');
    await store.close();
    store = SqliteStore.open(path);
    expect((await AgentReports.open({ store, clock })).get('east')).toEqual({ report: { agentVersion: '1.1.0', imports: [] }, reportedAt: now });
  });
});
