// TypeScript view of the CRDs in this folder. The YAML files are the source of truth;
// crds.test.ts checks that every constant here matches them.
import type { V1Condition, V1ObjectMeta } from '@kubernetes/client-node';

export interface CrdDescriptor {
  readonly file: string;            // file name in crds/
  readonly group: string;
  readonly version: string;         // the stored version (the one Plexus reads and writes)
  readonly alsoServed: readonly string[]; // older versions still served, same schema, no conversion
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
}

export const MCS_GROUP = 'multicluster.x-k8s.io';
/** Stored, and what Plexus reads and writes (mcs-api v0.4.0+, the conformance suite, Cilium, Submariner). */
export const MCS_VERSION = 'v1beta1';
/** Still served with the v1beta1 schema, so installs from before the upgrade keep working. */
export const MCS_LEGACY_VERSION = 'v1alpha1';
export const ABOUT_GROUP = 'about.k8s.io';
export const ABOUT_VERSION = 'v1alpha1';

export const SERVICE_EXPORT = {
  file: 'serviceexport.yaml',
  group: MCS_GROUP,
  version: MCS_VERSION,
  alsoServed: [MCS_LEGACY_VERSION],
  kind: 'ServiceExport',
  listKind: 'ServiceExportList',
  plural: 'serviceexports',
  singular: 'serviceexport',
  shortNames: ['svcex', 'svcexport'],
  scope: 'Namespaced',
} as const satisfies CrdDescriptor;

export const SERVICE_IMPORT = {
  file: 'serviceimport.yaml',
  group: MCS_GROUP,
  version: MCS_VERSION,
  alsoServed: [MCS_LEGACY_VERSION],
  kind: 'ServiceImport',
  listKind: 'ServiceImportList',
  plural: 'serviceimports',
  singular: 'serviceimport',
  shortNames: ['svcim', 'svcimport'],
  scope: 'Namespaced',
} as const satisfies CrdDescriptor;

export const CLUSTER_PROPERTY = {
  file: 'clusterproperty.yaml',
  group: ABOUT_GROUP,
  version: ABOUT_VERSION,
  alsoServed: [],
  kind: 'ClusterProperty',
  listKind: 'ClusterPropertyList',
  plural: 'clusterproperties',
  singular: 'clusterproperty',
  shortNames: [],
  scope: 'Cluster',
} as const satisfies CrdDescriptor;

export const ALL_CRDS: readonly CrdDescriptor[] = [SERVICE_EXPORT, SERVICE_IMPORT, CLUSTER_PROPERTY];

/** `<group>/<version>`, as written in an object's apiVersion. */
export function apiVersionOf(crd: CrdDescriptor): string {
  return `${crd.group}/${crd.version}`;
}

/** The CustomResourceDefinition's metadata.name: `<plural>.<group>`. */
export function crdNameOf(crd: CrdDescriptor): string {
  return `${crd.plural}.${crd.group}`;
}

// --- MCS API (KEP-1645) -------------------------------------------------------------

export type ServiceExportConditionType = 'Valid' | 'Ready' | 'Conflict';

/** Reasons written by Plexus, by condition type. Conflict reasons may be comma-joined. */
export const SERVICE_EXPORT_REASONS = {
  Valid: ['Valid', 'NoService', 'InvalidServiceType'],
  Ready: ['Exported', 'Pending', 'Failed'],
  Conflict: [
    'NoConflicts', 'PortConflict', 'TypeConflict', 'SessionAffinityConflict', 'SessionAffinityConfigConflict',
    'LabelsConflict', 'AnnotationsConflict', 'InternalTrafficPolicyConflict', 'TrafficDistributionConflict', 'IPFamilyConflict',
  ],
} as const satisfies Record<ServiceExportConditionType, readonly string[]>;

export interface ServiceExportSpec {
  /** Copied onto the ServiceImport (the oldest export's, when exports differ: LabelsConflict). */
  exportedLabels?: Record<string, string>;
  /** Copied onto the ServiceImport (the oldest export's, when exports differ: AnnotationsConflict). */
  exportedAnnotations?: Record<string, string>;
}

export interface ServiceExportStatus {
  conditions?: V1Condition[];
}

type McsApiVersion = `${typeof MCS_GROUP}/${typeof MCS_VERSION | typeof MCS_LEGACY_VERSION}`;

export interface ServiceExport {
  apiVersion?: McsApiVersion;
  kind?: 'ServiceExport';
  metadata?: V1ObjectMeta;
  spec?: ServiceExportSpec;
  status?: ServiceExportStatus;
}

export type ServiceImportType = 'ClusterSetIP' | 'Headless';
export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServiceImportPort {
  name?: string;
  protocol?: PortProtocol;
  appProtocol?: string;
  port: number;
}

export interface SessionAffinityConfig {
  clientIP?: { timeoutSeconds?: number };
}

export type IPFamily = 'IPv4' | 'IPv6';

export interface ServiceImportSpec {
  ports: ServiceImportPort[];
  ips?: string[];                       // at most 2: one per IP family
  ipFamilies?: IPFamily[];              // the family of each entry of ips, same order
  type: ServiceImportType;
  sessionAffinity?: 'ClientIP' | 'None';
  sessionAffinityConfig?: SessionAffinityConfig;
  internalTrafficPolicy?: 'Cluster' | 'Local';
  trafficDistribution?: string;
}

/** ServiceImport condition reasons (mcs-api v1beta1): one `Ready` condition. */
export const SERVICE_IMPORT_REASONS = {
  Ready: ['Ready', 'Pending', 'IPFamilyNotSupported'],
} as const;

export interface ServiceImportStatus {
  clusters?: { cluster: string }[];
  conditions?: V1Condition[];
}

export interface ServiceImport {
  apiVersion?: McsApiVersion;
  kind?: 'ServiceImport';
  metadata?: V1ObjectMeta;
  spec: ServiceImportSpec;
  status?: ServiceImportStatus;
}

/** Labels on EndpointSlices imported from another cluster. */
export const LABEL_SERVICE_NAME = 'multicluster.kubernetes.io/service-name';
export const LABEL_SOURCE_CLUSTER = 'multicluster.kubernetes.io/source-cluster';

// --- About API (KEP-2149) -----------------------------------------------------------

/** Well-known ClusterProperty names. */
export const PROPERTY_CLUSTER_ID = 'cluster.clusterset.k8s.io';
export const PROPERTY_CLUSTERSET = 'clusterset.k8s.io';
export const CLUSTER_PROPERTY_VALUE_MAX_LENGTH = 128 * 1024;

export interface ClusterProperty {
  apiVersion?: `${typeof ABOUT_GROUP}/${typeof ABOUT_VERSION}`;
  kind?: 'ClusterProperty';
  metadata?: V1ObjectMeta;
  spec: { value: string };
}
