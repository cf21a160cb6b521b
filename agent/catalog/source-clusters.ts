// Which exporters of a service count: the one rule the import controller (ServiceImport
// status.clusters, imported EndpointSlices) and DNS (headless answers) share, so a name
// never resolves to a cluster whose endpoints were not imported, nor the reverse. It reads
// only what CatalogView holds: the merged service, its exports, cluster availability.
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';

export interface ExporterInputs {
  readonly service: MergedService;
  /** Exports of this namespace/name, any order. */
  readonly exports: readonly ExportRecord[];
  readonly isAvailable: (cluster: string) => boolean;
  /**
   * Whether this cluster can reach the exporter's endpoints (agent/network: same network,
   * or another one through a live gateway); absent = every cluster (one shared network).
   */
  readonly isRoutable?: ((cluster: string) => boolean) | undefined;
}

/** Exporting clusters whose endpoints are imported: members, not excluded, available, routable, with an export record; sorted. */
export function sourceClusters(inputs: ExporterInputs): string[] {
  const exporters = new Set(inputs.exports.map((e) => e.cluster));
  return inputs.service.members
    .filter((m) => !m.excluded && exporters.has(m.cluster) && inputs.isAvailable(m.cluster) && (inputs.isRoutable?.(m.cluster) ?? true))
    .map((m) => m.cluster)
    .sort();
}
