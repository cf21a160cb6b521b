// The fleet as `plexus status`, `plexus services` and the dashboard see it: one row per
// active cluster and one per service, joined from what the broker already holds. Pure
// reads at one moment; nothing here writes.
import type { CatalogSnapshot, MergedService, ServicePort } from '../api/catalog.ts';
import type { ClusterHealth, FleetCluster, FleetService, FleetServices, FleetStatus } from '../api/fleet.ts';
import type { RbacCompliance, RbacComplianceResponse } from '../api/rbac.ts';
import type { Clock } from '../clock.ts';
import type { ClusterRecord } from '../enroll/enroll-store.ts';
import type { AgentReports } from './agent-reports.ts';

export interface FleetViewDeps {
  readonly store: { readonly clusterset: string; listClusters(): Promise<ClusterRecord[]> };
  readonly clock: Clock;
  readonly reports: AgentReports;
  readonly snapshot: () => CatalogSnapshot;
  readonly compliance: () => Promise<RbacComplianceResponse>;
}

function health(s: CatalogSnapshot['clusters'][number] | undefined): ClusterHealth {
  if (!s) return 'Unknown';
  return s.available ? 'Healthy' : 'Unreachable';
}

function rbacOf(c: RbacCompliance | undefined, currentRevision: number): FleetCluster['rbac'] {
  if (!c) return { targeted: false, currentRevision, appliedRevision: null, compliant: false, driftCount: 0, clashes: 0, errors: 0 };
  const { targeted, appliedRevision, compliant, driftCount, clashes, errors } = c;
  return { targeted, currentRevision: c.currentRevision, appliedRevision, compliant, driftCount, clashes, errors };
}

/** RTTs to clusters still in the clusterset (an advertisement may predate a removal). */
function activePeers(latencies: Readonly<Record<string, number>> | undefined, active: ReadonlySet<string>): Record<string, number> {
  return Object.fromEntries(Object.entries(latencies ?? {}).filter(([peer]) => active.has(peer)));
}

function portLabel(p: ServicePort): string {
  return `${p.name ? `${p.name}:` : ''}${p.port}/${p.protocol}`;
}

export class FleetView {
  readonly #d: FleetViewDeps;

  constructor(deps: FleetViewDeps) {
    this.#d = deps;
  }

  async status(): Promise<FleetStatus> {
    const { store, clock, reports } = this.#d;
    // The store first, the catalog snapshot last: nothing awaits between the snapshot and its use.
    const [rbac, all] = await Promise.all([this.#d.compliance(), store.listClusters()]);
    const snap = this.#d.snapshot();
    const leases = new Map(snap.clusters.map((c) => [c.cluster, c]));
    const ads = new Map((snap.advertisements ?? []).map((a) => [a.cluster, a]));
    const compliance = new Map(rbac.clusters.map((c) => [c.cluster, c]));
    // One pass over the exports, not one per cluster.
    const exportCounts = new Map<string, number>();
    for (const e of snap.exports) exportCounts.set(e.cluster, (exportCounts.get(e.cluster) ?? 0) + 1);
    const active = all.filter((c) => c.state === 'active');
    const activeIds = new Set(active.map((c) => c.id));
    const clusters = active.map((c): FleetCluster => {
      const lease = leases.get(c.id);
      const ad = ads.get(c.id);
      const r = reports.get(c.id);
      return {
        cluster: c.id, health: health(lease), leaseRenewedAt: lease?.leaseRenewedAt ?? null, labels: { ...c.labels },
        zone: ad?.zone ?? null, region: ad?.region ?? null, latencies: activePeers(ad?.latencies, activeIds),
        agentVersion: r?.report.agentVersion ?? null, reportedAt: r?.reportedAt.toISOString() ?? null,
        certificateNotAfter: c.certificateNotAfter?.toISOString() ?? null,
        exports: exportCounts.get(c.id) ?? 0,
        imports: r?.report.imports?.length ?? null,
        rbac: rbacOf(compliance.get(c.id), rbac.revision),
      };
    });
    return { clusterset: store.clusterset, generatedAt: clock.now().toISOString(), catalogRevision: snap.revision, rbacRevision: rbac.revision, clusters };
  }

  async services(): Promise<FleetServices> {
    const active = (await this.#d.store.listClusters()).filter((c) => c.state === 'active').map((c) => c.id);
    const snap = this.#d.snapshot();
    const importers = new Map<string, string[]>();
    for (const cluster of active) {
      for (const ref of this.#d.reports.get(cluster)?.report.imports ?? []) {
        const key = `${ref.namespace}/${ref.name}`;
        const list = importers.get(key);
        if (list) list.push(cluster);
        else importers.set(key, [cluster]);
      }
    }
    const services = snap.services.map((s: MergedService): FleetService => ({
      namespace: s.namespace, name: s.name, type: s.type, ports: s.ports.map(portLabel),
      exportedBy: s.members.map((m) => m.cluster),
      importedBy: (importers.get(`${s.namespace}/${s.name}`) ?? []).sort(),
      conflicts: s.members.filter((m) => m.conflicts.length > 0).map((m) => ({ cluster: m.cluster, reasons: m.conflicts, excluded: m.excluded })),
    }));
    return { catalogRevision: snap.revision, services };
  }
}
