// Wire contract of the service catalog (MCS export/import): what agents publish, what
// the broker streams back, and the endpoints that carry them. Shared by broker/ and agent/.
//
//   PUT    /v1/exports/:namespace/:name   ExportSpec            -> ExportWriteResponse   (upsert one of the caller's exports)
//   DELETE /v1/exports/:namespace/:name                         -> ExportWriteResponse   (withdraw; idempotent)
//   PUT    /v1/exports                    ExportSyncRequest     -> ExportSyncResponse    (replace the caller's whole set, one transaction)
//   GET    /v1/exports                                          -> ExportListResponse    (the caller's own exports)
//   POST   /v1/lease                      LeaseRequest          -> LeaseResponse         (heartbeat; optional report, fleet.ts)
//   GET    /v1/catalog                                          -> CatalogSnapshot       (everything, at one revision)
//   GET    /v1/watch?since=REV                                  -> NDJSON stream of WatchEvent
// All of them require a cluster identity (mTLS). A cluster may write only its own exports:
// ExportSpec.cluster must equal the caller's cluster ID exactly, else PLX_BROKER_FORBIDDEN.
// What it may publish is bounded by export-guard.ts: a PUT of one export from a protected
// namespace or with a special-range endpoint address fails with PLX_BROKER_EXPORT_*; a sync
// leaves such exports out and lists them in `refused`.
import { z } from 'zod';
import { clusterAdvertisementSchema } from './advertisement.ts';
import { LABEL_VALUE, dnsLabelSchema, namespaceSchema } from './names.ts';
import { clusterIdSchema } from './types.ts';
import { userNameSchema } from './users.ts';

export { namespaceSchema };
/** RFC-1035 label (Service names): an RFC-1123 label that starts with a letter. */
export const serviceNameSchema = z.string().regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be an RFC-1035 label');
const portNameSchema = dnsLabelSchema.max(15);
const protocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);
const ipSchema = z.union([z.ipv4(), z.ipv6()]);
const rfc3339 = z.iso.datetime({ offset: true });

export const servicePortSchema = z.object({
  name: portNameSchema.optional(),
  protocol: protocolSchema,
  appProtocol: z.string().max(256).optional(),
  port: z.number().int().min(1).max(65535),
}).strict();
export type ServicePort = z.infer<typeof servicePortSchema>;

/** Target ports of the exporting cluster's endpoints (EndpointSlice ports). */
export const endpointPortSchema = z.object({
  name: z.string().max(63).optional(),
  protocol: protocolSchema,
  appProtocol: z.string().max(256).optional(),
  port: z.number().int().min(1).max(65535),
}).strict();
export type EndpointPort = z.infer<typeof endpointPortSchema>;

/** One ready endpoint in the exporting cluster. */
export const exportedEndpointSchema = z.object({
  addresses: z.array(ipSchema).min(1).max(100),
  hostname: dnsLabelSchema.optional(),
  zone: z.string().max(253).optional(),
  nodeName: z.string().max(253).optional(),
}).strict();
export type ExportedEndpoint = z.infer<typeof exportedEndpointSchema>;

export const serviceTypeSchema = z.enum(['ClusterSetIP', 'Headless']);
export type ServiceImportType = z.infer<typeof serviceTypeSchema>;

/** A label key or annotation key: an optional DNS-subdomain prefix and a name (Kubernetes' qualified name). */
const qualifiedNameSchema = z.string().max(317).regex(
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/,
  'must be a qualified name ([prefix/]name)',
).refine((k) => !k.includes('/') || k.indexOf('/') <= 253, 'prefix must be at most 253 characters');
const labelValueSchema = z.string().regex(LABEL_VALUE, 'must be a label value');
/** ServiceExport spec.exportedLabels: copied onto the ServiceImport. */
export const exportedLabelsSchema = z.record(qualifiedNameSchema, labelValueSchema)
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 labels');
/** ServiceExport spec.exportedAnnotations: copied onto the ServiceImport. */
export const exportedAnnotationsSchema = z.record(qualifiedNameSchema, z.string().max(4096))
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 annotations');

export const ipFamilySchema = z.enum(['IPv4', 'IPv6']);
export type IPFamily = z.infer<typeof ipFamilySchema>;
export const internalTrafficPolicySchema = z.enum(['Cluster', 'Local']);
/** Service spec.trafficDistribution (PreferClose, PreferSameZone, PreferSameNode, ...): passed through as the exporter wrote it. */
export const trafficDistributionSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,62}$/);

export const sessionAffinityConfigSchema = z.object({
  clientIP: z.object({ timeoutSeconds: z.number().int().min(1).max(86400).optional() }).strict().optional(),
}).strict();

export const exportSpecSchema = z.object({
  cluster: clusterIdSchema,
  namespace: namespaceSchema,
  name: serviceNameSchema,
  /** The ServiceExport's creationTimestamp: the oldest export wins conflicts. */
  createdAt: rfc3339,
  type: serviceTypeSchema,
  ports: z.array(servicePortSchema).max(100),
  /** The exporting cluster's own ClusterIPs, for information (imports get their own). */
  clusterIPs: z.array(ipSchema).max(2).default([]),
  sessionAffinity: z.enum(['None', 'ClientIP']).default('None'),
  sessionAffinityConfig: sessionAffinityConfigSchema.optional(),
  endpointPorts: z.array(endpointPortSchema).max(100).default([]),
  endpoints: z.array(exportedEndpointSchema).max(10_000),
  /** Opaque per-service settings from ServiceExport annotations (e.g. DNS policy). */
  annotations: z.record(z.string().max(253), z.string().max(4096)).default({}),
  /** ServiceExport spec.exportedLabels / spec.exportedAnnotations (absent from older agents). */
  exportedLabels: exportedLabelsSchema.default({}),
  exportedAnnotations: exportedAnnotationsSchema.default({}),
  /** The exported Service's spec.ipFamilies (empty from older agents: unknown). */
  ipFamilies: z.array(ipFamilySchema).max(2).default([]),
  internalTrafficPolicy: internalTrafficPolicySchema.optional(),
  trafficDistribution: trafficDistributionSchema.optional(),
}).strict();
export type ExportSpec = z.infer<typeof exportSpecSchema>;
export type ExportSpecInput = z.input<typeof exportSpecSchema>;

/** KEP-1645 / mcs-api v1beta1 conflict reasons, in the order they are reported. */
export const conflictReasonSchema = z.enum([
  'PortConflict', 'TypeConflict', 'SessionAffinityConflict', 'SessionAffinityConfigConflict', 'LabelsConflict',
  'AnnotationsConflict', 'InternalTrafficPolicyConflict', 'TrafficDistributionConflict', 'IPFamilyConflict',
]);
export type ConflictReason = z.infer<typeof conflictReasonSchema>;
/**
 * A conflict reason as read off the wire: any CamelCase word, not only the known ones, so a
 * reason a newer broker adds does not break an older reader's stream. (Agents from before
 * the mcs-api v1beta1 reasons refuse them: upgrade agents before the broker.)
 */
export const conflictReasonWireSchema = z.union([conflictReasonSchema, z.string().regex(/^[A-Z][A-Za-z]{0,63}$/)]);

/** How one exporting cluster stands in the merged service. */
export const memberStatusSchema = z.object({
  cluster: clusterIdSchema,
  createdAt: rfc3339,
  /** Empty when this export merged cleanly; a reason is set on every export involved, the oldest included. */
  conflicts: z.array(conflictReasonWireSchema),
  /** True when a type conflict keeps this cluster's endpoints out of the import. */
  excluded: z.boolean(),
});
export type MemberStatus = z.infer<typeof memberStatusSchema>;

/** The merged view of namespace/name across all exporting clusters (KEP-1645 rules). */
export const mergedServiceSchema = z.object({
  namespace: namespaceSchema,
  name: serviceNameSchema,
  type: serviceTypeSchema,
  ports: z.array(servicePortSchema),
  sessionAffinity: z.enum(['None', 'ClientIP']),
  sessionAffinityConfig: sessionAffinityConfigSchema.optional(),
  /** The oldest export's: every property below follows it (absent from older brokers). */
  exportedLabels: exportedLabelsSchema.default({}),
  exportedAnnotations: exportedAnnotationsSchema.default({}),
  ipFamilies: z.array(ipFamilySchema).max(2).default([]),
  internalTrafficPolicy: internalTrafficPolicySchema.optional(),
  trafficDistribution: trafficDistributionSchema.optional(),
  /** Oldest first: the first entry decided type, session affinity and the properties above. */
  members: z.array(memberStatusSchema).min(1),
});
export type MergedService = z.infer<typeof mergedServiceSchema>;

export const clusterStateSchema = z.object({
  cluster: clusterIdSchema,
  /** False once the cluster's lease expired or it was removed; its endpoints must be withdrawn. */
  available: z.boolean(),
  leaseRenewedAt: rfc3339.nullable(),
  /**
   * Set on the watch event that announces the cluster's removal: its certificates are
   * revoked, and agents forget it (their probe endpoints refuse it from then on).
   */
  removed: z.literal(true).optional(),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

export const exportRecordSchema = exportSpecSchema.extend({ revision: z.number().int().nonnegative() });
export type ExportRecord = z.infer<typeof exportRecordSchema>;

// Requests and responses
export const exportWriteResponseSchema = z.object({
  revision: z.number().int().nonnegative(),
  /** The merged service after the write (null when the last export was withdrawn). */
  service: mergedServiceSchema.nullable(),
});
export type ExportWriteResponse = z.infer<typeof exportWriteResponseSchema>;

export const exportSyncRequestSchema = z.object({ exports: z.array(exportSpecSchema).max(5_000) }).strict();
export type ExportSyncRequest = z.input<typeof exportSyncRequestSchema>;
/** An export the broker's guard refused (export-guard.ts); the rest of a sync still lands. */
export const refusedExportSchema = z.object({
  namespace: namespaceSchema,
  name: serviceNameSchema,
  code: z.enum(['PLX_BROKER_EXPORT_PROTECTED_NAMESPACE', 'PLX_BROKER_EXPORT_ADDRESS_REFUSED']),
  message: z.string(),
});
export type RefusedExport = z.infer<typeof refusedExportSchema>;

export const exportSyncResponseSchema = z.object({
  revision: z.number().int().nonnegative(),
  upserted: z.number().int(),
  withdrawn: z.number().int(),
  unchanged: z.number().int(),
  /** Present only when the guard refused some; absent from older brokers. */
  refused: z.array(refusedExportSchema).optional(),
});
export const exportListResponseSchema = z.object({ revision: z.number().int(), exports: z.array(exportRecordSchema) });

export const leaseResponseSchema = z.object({
  leaseDurationSeconds: z.number().int().positive(),
  renewedAt: rfc3339,
});
export type LeaseResponse = z.infer<typeof leaseResponseSchema>;

export const catalogSnapshotSchema = z.object({
  revision: z.number().int().nonnegative(),
  services: z.array(mergedServiceSchema),
  exports: z.array(exportRecordSchema),
  clusters: z.array(clusterStateSchema),
  /** Every cluster's advertisement (broker/api/advertisement.ts) at the same revision; absent from older brokers. */
  advertisements: z.array(clusterAdvertisementSchema).optional(),
});
export type CatalogSnapshot = z.infer<typeof catalogSnapshotSchema>;

/**
 * Wall-clock time (ms since the epoch) at which the broker committed the change; agents
 * measure propagation delay as their now minus this. Optional: older brokers omit it.
 */
const committedAtSchema = z.number().int().nonnegative().optional();

/**
 * One line of the watch stream (NDJSON). Events are applied in revision order; every
 * event carries the revision to resume from. `relist` means `since` was compacted away:
 * fetch GET /v1/catalog and watch again from its revision.
 */
export const watchEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('export'), revision: z.number().int(), cluster: clusterIdSchema, namespace: namespaceSchema, name: serviceNameSchema, export: exportRecordSchema.nullable(), committedAt: committedAtSchema }),
  z.object({ type: z.literal('service'), revision: z.number().int(), namespace: namespaceSchema, name: serviceNameSchema, service: mergedServiceSchema.nullable(), committedAt: committedAtSchema }),
  z.object({ type: z.literal('cluster'), revision: z.number().int(), state: clusterStateSchema, committedAt: committedAtSchema }),
  z.object({ type: z.literal('advertisement'), revision: z.number().int(), cluster: clusterIdSchema, advertisement: clusterAdvertisementSchema.nullable(), committedAt: committedAtSchema }),
  /** A new RBAC baseline revision (or a targeting change): fetch GET /v1/rbac/baseline. */
  z.object({ type: z.literal('rbac'), revision: z.number().int(), rbacRevision: z.number().int().nonnegative(), committedAt: committedAtSchema }),
  /** A person's shared identity was revoked (broker/api/users.ts): refuse it from now on. */
  z.object({ type: z.literal('user-revoked'), revision: z.number().int(), name: userNameSchema, revokedAt: rfc3339, committedAt: committedAtSchema }),
  z.object({ type: z.literal('bookmark'), revision: z.number().int() }),
  z.object({ type: z.literal('relist'), revision: z.number().int() }),
]);
export type WatchEvent = z.infer<typeof watchEventSchema>;

export const catalogPaths = {
  exports: '/v1/exports',
  export: (namespace: string, name: string) => `/v1/exports/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
  lease: '/v1/lease',
  catalog: '/v1/catalog',
  watch: (since: number) => `/v1/watch?since=${since}`,
} as const;
