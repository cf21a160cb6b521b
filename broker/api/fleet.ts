// Wire contract of the fleet views: what an agent reports with its lease heartbeat, and
// the admin read endpoints behind `plexus status`, `plexus services` and the dashboard.
//
//   POST /v1/lease              { report?: LeaseReport }   (cluster; see catalog.ts)
//   GET  /v1/admin/fleet                 -> FleetStatus     (admin)
//   GET  /v1/admin/services              -> FleetServices   (admin)
// Both admin views are computed from what the broker already holds (membership,
// certificates, leases, advertisements, RBAC reports, catalog) plus the last lease report.
import { z } from 'zod';
import { namespaceSchema, serviceNameSchema, serviceTypeSchema, conflictReasonWireSchema } from './catalog.ts';
import { rbacComplianceSchema } from './rbac.ts';
import { clusterIdSchema } from './types.ts';

const rfc3339 = z.iso.datetime({ offset: true });

/** One ServiceImport the agent holds in its cluster. */
export const importRefSchema = z.object({ namespace: namespaceSchema, name: serviceNameSchema }).strict();
export type ImportRef = z.infer<typeof importRefSchema>;

/** What an agent tells the broker about itself on every heartbeat (all optional fields may grow). */
export const leaseReportSchema = z.object({
  /** The agent's version (its package.json). */
  agentVersion: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/, 'must be a version string'),
  /** The Plexus-owned ServiceImports in the cluster, sorted; absent until its informer synced. */
  imports: z.array(importRefSchema).max(5_000).optional(),
}).strict();
export type LeaseReport = z.infer<typeof leaseReportSchema>;

export const leaseRequestSchema = z.object({ report: leaseReportSchema.optional() }).strict();
export type LeaseRequest = z.infer<typeof leaseRequestSchema>;

/** Healthy: lease alive. Unreachable: lease expired. Unknown: no heartbeat since the broker started. */
export const clusterHealthSchema = z.enum(['Healthy', 'Unreachable', 'Unknown']);
export type ClusterHealth = z.infer<typeof clusterHealthSchema>;

/** A cluster's RBAC compliance as the fleet view shows it: the counts of its compliance row. */
export const fleetRbacSchema = rbacComplianceSchema.pick({
  targeted: true, currentRevision: true, appliedRevision: true, compliant: true, driftCount: true, clashes: true, errors: true,
});
export type FleetRbac = z.infer<typeof fleetRbacSchema>;

export const fleetClusterSchema = z.object({
  cluster: clusterIdSchema,
  health: clusterHealthSchema,
  leaseRenewedAt: rfc3339.nullable(),
  labels: z.record(z.string(), z.string()),
  zone: z.string().nullable(),
  region: z.string().nullable(),
  /** Smoothed RTT this cluster measured to each peer, ms (its advertisement). */
  latencies: z.record(z.string(), z.number()),
  agentVersion: z.string().nullable(),
  reportedAt: rfc3339.nullable(),
  certificateNotAfter: rfc3339.nullable(),
  exports: z.number().int().nonnegative(),
  /** Null when the agent has not reported its imports yet. */
  imports: z.number().int().nonnegative().nullable(),
  rbac: fleetRbacSchema,
});
export type FleetCluster = z.infer<typeof fleetClusterSchema>;

export const fleetStatusSchema = z.object({
  clusterset: z.string(),
  generatedAt: rfc3339,
  catalogRevision: z.number().int().nonnegative(),
  rbacRevision: z.number().int().nonnegative(),
  clusters: z.array(fleetClusterSchema),
});
export type FleetStatus = z.infer<typeof fleetStatusSchema>;

export const fleetServiceSchema = z.object({
  namespace: namespaceSchema,
  name: serviceNameSchema,
  type: serviceTypeSchema,
  ports: z.array(z.string()),
  /** Exporting clusters, oldest export first. */
  exportedBy: z.array(clusterIdSchema),
  /** Clusters that reported a ServiceImport for it. */
  importedBy: z.array(clusterIdSchema),
  conflicts: z.array(z.object({ cluster: clusterIdSchema, reasons: z.array(conflictReasonWireSchema), excluded: z.boolean() })),
});
export type FleetService = z.infer<typeof fleetServiceSchema>;

export const fleetServicesSchema = z.object({
  catalogRevision: z.number().int().nonnegative(),
  services: z.array(fleetServiceSchema),
});
export type FleetServices = z.infer<typeof fleetServicesSchema>;

export const fleetPaths = {
  fleet: '/v1/admin/fleet',
  services: '/v1/admin/services',
  dashboard: '/dashboard',
} as const;
