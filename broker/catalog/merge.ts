// KEP-1645 merge of one namespace/name across the clusters that export it. Pure: no I/O,
// no clock, no logging; the same exports in any order give the same MergedService.
//
// Rules (oldest = earliest ServiceExport createdAt, ties broken by cluster ID):
// - the oldest export decides `type` and `sessionAffinity` (+ config);
// - an export of another type is excluded (TypeConflict): its ports stay out of the union
//   and its endpoints out of the import;
// - a differing session affinity is a SessionAffinityConflict, not an exclusion;
// - ports are the union, merged by name (named ports) and by protocol+port (unnamed ports);
//   a port that clashes with one already in the union (same name but another protocol,
//   port or appProtocol, or the same protocol+port under another name) is a PortConflict
//   on the newer export and stays out: the oldest definition wins.
import type {
  ConflictReason, ExportSpec, MemberStatus, MergedService, ServicePort,
} from '../api/catalog.ts';

/** What the merge reads from an export (ExportSpec has more). */
export type MergeInput = Pick<ExportSpec,
  'cluster' | 'namespace' | 'name' | 'createdAt' | 'type' | 'ports' | 'sessionAffinity' | 'sessionAffinityConfig'>;

const REASON_ORDER: readonly ConflictReason[] = ['PortConflict', 'TypeConflict', 'SessionAffinityConflict'];

/** Oldest first; equal timestamps fall back to the cluster ID (code-point order). */
export function compareExports(a: Pick<ExportSpec, 'createdAt' | 'cluster'>, b: Pick<ExportSpec, 'createdAt' | 'cluster'>): number {
  const d = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  if (d !== 0) return d;
  return a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;
}

export function comparePorts(a: ServicePort, b: ServicePort): number {
  if (a.port !== b.port) return a.port - b.port;
  if (a.protocol !== b.protocol) return a.protocol < b.protocol ? -1 : 1;
  const an = a.name ?? '';
  const bn = b.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function sameAffinity(a: MergeInput, b: MergeInput): boolean {
  if (a.sessionAffinity !== b.sessionAffinity) return false;
  // The timeout only matters for ClientIP affinity.
  if (a.sessionAffinity !== 'ClientIP') return true;
  return (a.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? null) === (b.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? null);
}

/** The union of ports built oldest first; `add` says whether a port joined or clashed. */
class PortUnion {
  readonly #byName = new Map<string, ServicePort>();
  readonly #byProtocolPort = new Map<string, ServicePort>();

  /** True when the port merged (new or identical); false on a clash. */
  add(p: ServicePort): boolean {
    const pp = `${p.protocol}/${p.port}`;
    const named = p.name === undefined ? undefined : this.#byName.get(p.name);
    const sameNumber = this.#byProtocolPort.get(pp);
    const existing = named ?? sameNumber;
    if (existing) {
      return existing.name === p.name && existing.protocol === p.protocol && existing.port === p.port
        && existing.appProtocol === p.appProtocol;
    }
    const port: ServicePort = { ...p };
    if (p.name !== undefined) this.#byName.set(p.name, port);
    this.#byProtocolPort.set(pp, port);
    return true;
  }

  sorted(): ServicePort[] {
    return [...this.#byProtocolPort.values()].sort(comparePorts);
  }
}

function memberOf(e: MergeInput, reasons: Set<ConflictReason>, excluded: boolean): MemberStatus {
  return { cluster: e.cluster, createdAt: e.createdAt, conflicts: REASON_ORDER.filter((r) => reasons.has(r)), excluded };
}

/** Merges every export of one namespace/name; null when there is none. */
export function mergeService(exports: readonly MergeInput[]): MergedService | null {
  if (exports.length === 0) return null;
  const ordered = [...exports].sort(compareExports);
  const oldest = ordered[0]!;
  const union = new PortUnion();
  const members: MemberStatus[] = [];
  for (const e of ordered) {
    const reasons = new Set<ConflictReason>();
    if (e.type !== oldest.type) {
      reasons.add('TypeConflict');
      if (!sameAffinity(e, oldest)) reasons.add('SessionAffinityConflict');
      members.push(memberOf(e, reasons, true));
      continue;
    }
    if (!sameAffinity(e, oldest)) reasons.add('SessionAffinityConflict');
    for (const p of e.ports) {
      if (!union.add(p)) reasons.add('PortConflict');
    }
    members.push(memberOf(e, reasons, false));
  }
  const merged: MergedService = {
    namespace: oldest.namespace,
    name: oldest.name,
    type: oldest.type,
    ports: union.sorted(),
    sessionAffinity: oldest.sessionAffinity,
    members,
  };
  if (oldest.sessionAffinity === 'ClientIP' && oldest.sessionAffinityConfig) merged.sessionAffinityConfig = oldest.sessionAffinityConfig;
  return merged;
}
