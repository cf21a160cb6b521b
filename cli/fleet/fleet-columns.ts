// How `plexus status` and `plexus services` render the fleet views as tables.
import type { Column } from '../output.ts';
import type { FleetCluster, FleetService } from '../../broker/api/fleet.ts';

/** "23h59m" / "45m" / "expired": time left until `iso` at `now`. */
export function timeLeft(iso: string | null, now: Date): string {
  if (!iso) return '-';
  const ms = Date.parse(iso) - now.getTime();
  if (ms <= 0) return 'expired';
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  if (days >= 2) return `${days}d`;
  const h = Math.floor(minutes / 60);
  return h > 0 ? `${h}h${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
}

/** "4s ago" / "12m ago" / "3h ago" / "2d ago": how long before `now` `iso` was; "-" when never. */
export function timeAgo(iso: string | null, now: Date): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.floor(s / 60)}m ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** "cluster-2=1.2ms,cluster-3=0.8ms": the RTTs this cluster measured, by peer. */
export function latencies(c: FleetCluster): string {
  const entries = Object.entries(c.latencies).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([peer, ms]) => `${peer}=${ms.toFixed(1)}ms`).join(',') : '-';
}

function rbac(c: FleetCluster): string {
  const r = c.rbac;
  const rev = `${r.appliedRevision ?? '-'}/${r.currentRevision}`;
  return r.compliant ? `${rev} ok` : `${rev} not-compliant`;
}

export function clusterColumns(now: Date): Column<FleetCluster>[] {
  return [
    { header: 'cluster', value: (c) => c.cluster },
    { header: 'health', value: (c) => c.health },
    // An Unreachable cluster's row is what it last reported; this says how old that is.
    { header: 'last seen', value: (c) => timeAgo(c.leaseRenewedAt ?? c.reportedAt, now) },
    { header: 'latency', value: latencies },
    { header: 'version', value: (c) => c.agentVersion },
    { header: 'cert expires', value: (c) => timeLeft(c.certificateNotAfter, now) },
    { header: 'rbac rev', value: rbac },
    { header: 'drift', value: (c) => c.rbac.driftCount },
    { header: 'exports', value: (c) => c.exports },
    { header: 'imports', value: (c) => c.imports },
  ];
}

function conflicts(s: FleetService): string {
  if (s.conflicts.length === 0) return '-';
  return s.conflicts.map((c) => `${c.cluster}:${c.reasons.join('+')}${c.excluded ? '(excluded)' : ''}`).join(',');
}

export const serviceColumns: Column<FleetService>[] = [
  { header: 'namespace', value: (s) => s.namespace },
  { header: 'name', value: (s) => s.name },
  { header: 'type', value: (s) => s.type },
  { header: 'ports', value: (s) => s.ports.join(',') },
  { header: 'exported by', value: (s) => s.exportedBy.join(',') },
  { header: 'imported by', value: (s) => s.importedBy.join(',') || '-' },
  { header: 'conflicts', value: conflicts },
];
