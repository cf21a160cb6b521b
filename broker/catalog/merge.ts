// KEP-1645 merge of one namespace/name across the clusters that export it. Pure: no I/O,
// no clock, no logging; the same exports in any order give the same MergedService.
//
// Rules (oldest = earliest ServiceExport createdAt, ties broken by cluster ID):
// - the oldest export decides `type`, `sessionAffinity` (+ config), `internalTrafficPolicy`,
//   `trafficDistribution`, `ipFamilies`, `exportedLabels` and `exportedAnnotations`;
// - an export of another type is excluded (TypeConflict): its ports stay out of the union
//   and its endpoints out of the import;
// - ports must match exactly (name, protocol, port, appProtocol): exports whose port lists
//   differ are a PortConflict. The import still gets the union, built oldest first: a port
//   joins unless it clashes with one already in it (same name but another protocol, port
//   or appProtocol; the same protocol+port under another name; or an unnamed port beside
//   any other, which no Service could hold), so the oldest definition wins and the
//   derived Service is always valid;
// - a property on which the exports disagree is a conflict on EVERY export involved, the
//   oldest included (the conformance suite expects Conflict=True on each): for properties
//   the oldest decides that is every export, since each differs from some other. Only the
//   type conflict excludes; the other reasons are reported and the oldest value is used.
import type {
  ConflictReason, ExportSpec, IPFamily, MemberStatus, MergedService, ServicePort,
} from '../api/catalog.ts';

/** What the merge reads from an export (ExportSpec has more). Fields added after v1alpha1 may be absent (older agents). */
export type MergeInput = Pick<ExportSpec,
  'cluster' | 'namespace' | 'name' | 'createdAt' | 'type' | 'ports' | 'sessionAffinity' | 'sessionAffinityConfig'>
  & Partial<Pick<ExportSpec, 'exportedLabels' | 'exportedAnnotations' | 'ipFamilies' | 'internalTrafficPolicy' | 'trafficDistribution'>>;

const REASON_ORDER: readonly ConflictReason[] = [
  'PortConflict', 'TypeConflict', 'SessionAffinityConflict', 'SessionAffinityConfigConflict', 'LabelsConflict',
  'AnnotationsConflict', 'InternalTrafficPolicyConflict', 'TrafficDistributionConflict', 'IPFamilyConflict',
];

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

function samePort(a: ServicePort, b: ServicePort): boolean {
  return a.name === b.name && a.protocol === b.protocol && a.port === b.port && a.appProtocol === b.appProtocol;
}

/** Canonical text of a value, object keys sorted, for "do these exports agree" checks. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The per-export values compared for each "the oldest decides" property, and the reason a disagreement raises. */
const AGREEMENT: readonly [ConflictReason, (e: MergeInput) => unknown][] = [
  ['SessionAffinityConflict', (e) => e.sessionAffinity],
  // The timeout only matters between exports that both use ClientIP affinity.
  ['SessionAffinityConfigConflict', (e) => (e.sessionAffinity === 'ClientIP' ? e.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? null : undefined)],
  ['LabelsConflict', (e) => e.exportedLabels ?? {}],
  ['AnnotationsConflict', (e) => e.exportedAnnotations ?? {}],
  // The API server defaults internalTrafficPolicy to Cluster; an older agent that sent nothing agrees with it.
  ['InternalTrafficPolicyConflict', (e) => e.internalTrafficPolicy ?? 'Cluster'],
  ['TrafficDistributionConflict', (e) => e.trafficDistribution ?? null],
  // Families as a set (a v6-primary and a v4-primary dual-stack cluster agree); unknown (older agents) agrees with anything.
  ['IPFamilyConflict', (e) => (e.ipFamilies?.length ? [...e.ipFamilies].sort() : undefined)],
];

/**
 * Reasons raised on every export in `exports` because they do not all agree. IP families are
 * compared only among `sameType` (the exports of the oldest's type): a selector-less headless
 * Service gets both families even on a single-stack cluster, so against a ClusterSetIP export
 * they always differed, and such an export is already excluded with TypeConflict.
 */
function disagreements(exports: readonly MergeInput[], sameType: readonly MergeInput[]): Set<ConflictReason> {
  const out = new Set<ConflictReason>();
  for (const [reason, valueOf] of AGREEMENT) {
    const seen = new Set<string>();
    for (const e of reason === 'IPFamilyConflict' ? sameType : exports) {
      const v = valueOf(e);
      if (v !== undefined) seen.add(canonical(v));
    }
    if (seen.size > 1) out.add(reason);
  }
  return out;
}

/** The union of ports built oldest first; `add` says whether a port joined (or was already there) or clashed. */
class PortUnion {
  readonly #ports: ServicePort[] = [];

  add(p: ServicePort): boolean {
    if (this.#ports.some((x) => samePort(x, p))) return true;
    // A Service with more than one port needs every port named: an unnamed port can only stand alone.
    if (this.#ports.length > 0 && (p.name === undefined || this.#ports.some((x) => x.name === undefined))) return false;
    if (this.#ports.some((x) => x.name === p.name || (x.protocol === p.protocol && x.port === p.port))) return false;
    this.#ports.push({ ...p });
    return true;
  }

  sorted(): ServicePort[] {
    return [...this.#ports].sort(comparePorts);
  }
}

function portSet(e: MergeInput): string {
  return canonical([...e.ports].sort(comparePorts));
}

/** Merges every export of one namespace/name; null when there is none. */
export function mergeService(exports: readonly MergeInput[]): MergedService | null {
  if (exports.length === 0) return null;
  const ordered = [...exports].sort(compareExports);
  const oldest = ordered[0]!;
  const included = ordered.filter((e) => e.type === oldest.type);
  const union = new PortUnion();
  for (const e of included) for (const p of e.ports) union.add(p);

  const shared = disagreements(ordered, included);
  if (included.length < ordered.length) shared.add('TypeConflict');
  const portsDiffer = new Set(included.map(portSet)).size > 1;
  const members: MemberStatus[] = ordered.map((e) => {
    const excluded = e.type !== oldest.type;
    const reasons = new Set(shared);
    // Excluded exports take no part in the port union, so they are not part of a port conflict.
    if (portsDiffer && !excluded) reasons.add('PortConflict');
    return { cluster: e.cluster, createdAt: e.createdAt, conflicts: REASON_ORDER.filter((r) => reasons.has(r)), excluded };
  });

  const merged: MergedService = {
    namespace: oldest.namespace,
    name: oldest.name,
    type: oldest.type,
    ports: union.sorted(),
    sessionAffinity: oldest.sessionAffinity,
    exportedLabels: { ...oldest.exportedLabels },
    exportedAnnotations: { ...oldest.exportedAnnotations },
    // An older agent sends no families: the oldest export that names them decides.
    ipFamilies: [...(ordered.find((e) => e.ipFamilies?.length)?.ipFamilies ?? [])] as IPFamily[],
    members,
  };
  if (oldest.sessionAffinity === 'ClientIP' && oldest.sessionAffinityConfig) merged.sessionAffinityConfig = oldest.sessionAffinityConfig;
  if (oldest.internalTrafficPolicy) merged.internalTrafficPolicy = oldest.internalTrafficPolicy;
  if (oldest.trafficDistribution) merged.trafficDistribution = oldest.trafficDistribution;
  return merged;
}
