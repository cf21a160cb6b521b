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
//   port or appProtocol, or the same protocol+port under another name, or an unnamed port
//   next to any other port, which no Service may have) stays out: the oldest definition
//   wins, and both exports involved get a PortConflict.
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

/**
 * The union of ports built oldest first; `add` says whether a port joined, or which
 * clusters' ports it clashed with. A Service with more than one port needs every port
 * named (the API server refuses `spec.ports[i].name: Required value`), so an unnamed port
 * merges only with itself: an unnamed port next to any other, or a new port next to an
 * unnamed one, is a clash too.
 */
class PortUnion {
  readonly #byName = new Map<string, ServicePort>();
  readonly #byProtocolPort = new Map<string, ServicePort>();
  readonly #owner = new Map<ServicePort, string>();

  /** undefined when the port merged (new or identical); else the clusters whose ports it clashed with. */
  add(p: ServicePort, cluster: string): string[] | undefined {
    const pp = `${p.protocol}/${p.port}`;
    const named = p.name === undefined ? undefined : this.#byName.get(p.name);
    const sameNumber = this.#byProtocolPort.get(pp);
    const existing = named ?? sameNumber;
    if (existing) {
      const same = existing.name === p.name && existing.protocol === p.protocol && existing.port === p.port
        && existing.appProtocol === p.appProtocol;
      return same ? undefined : [this.#owner.get(existing)!];
    }
    const all = [...this.#byProtocolPort.values()];
    const blocking = p.name === undefined ? all : all.filter((q) => q.name === undefined);
    if (blocking.length > 0) return blocking.map((q) => this.#owner.get(q)!);
    const port: ServicePort = { ...p };
    if (p.name !== undefined) this.#byName.set(p.name, port);
    this.#byProtocolPort.set(pp, port);
    this.#owner.set(port, cluster);
    return undefined;
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
  const reasonsOf = new Map<string, Set<ConflictReason>>(ordered.map((e) => [e.cluster, new Set()]));
  for (const e of ordered) {
    const reasons = reasonsOf.get(e.cluster)!;
    if (e.type !== oldest.type) {
      reasons.add('TypeConflict');
      if (!sameAffinity(e, oldest)) reasons.add('SessionAffinityConflict');
      continue;
    }
    if (!sameAffinity(e, oldest)) reasons.add('SessionAffinityConflict');
    for (const p of e.ports) {
      const clashed = union.add(p, e.cluster);
      if (!clashed) continue;
      // Every export involved gets the PortConflict (what the conformance suite expects),
      // the one whose port stayed in the union as well as the newer one left out.
      reasons.add('PortConflict');
      for (const c of clashed) reasonsOf.get(c)?.add('PortConflict');
    }
  }
  const members = ordered.map((e) => memberOf(e, reasonsOf.get(e.cluster)!, e.type !== oldest.type));
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
