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
}

/** Exporting clusters whose endpoints are imported: members, not excluded, available, with an export record; sorted. */
export function sourceClusters(inputs: ExporterInputs): string[] {
  const exporters = new Set(inputs.exports.map((e) => e.cluster));
  return inputs.service.members
    .filter((m) => !m.excluded && exporters.has(m.cluster) && inputs.isAvailable(m.cluster))
    .map((m) => m.cluster)
    .sort();
}
