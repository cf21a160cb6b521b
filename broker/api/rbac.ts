// Wire contract of the central RBAC baseline: what the admin uploads, what each cluster's
// agent fetches and applies, and what agents report back. Shared by broker/ and agent/.
//
//   PUT  /v1/admin/rbac              RbacApplyRequest   -> RbacApplyResponse   (validate, store a new revision if changed)
//   GET  /v1/admin/rbac                                 -> RbacBaselineInfo
//   POST /v1/admin/rbac/diff         RbacApplyRequest?  -> RbacDiffResponse    (dry run against the agents' last reports)
//   GET  /v1/admin/rbac/status                          -> RbacComplianceResponse
//   PUT  /v1/admin/clusters/:id/labels RbacLabelRequest -> ClusterInfo
//   GET  /v1/rbac/baseline           (cluster)          -> RbacClusterBaseline (only the objects targeted at the caller)
//   PUT  /v1/rbac/status             (cluster)          RbacStatusReport -> { ok: true }
// A new revision is announced on the catalog watch stream as { type: 'rbac', rbacRevision }.
import { z } from 'zod';
import { RBAC_RULE_ERRORS, type RbacRuleCode } from './errors.ts';
import { LABEL_VALUE, namespaceSchema } from './names.ts';
import { clusterIdSchema } from './types.ts';

export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
export const rbacKinds = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Namespace'] as const;
export type RbacKind = (typeof rbacKinds)[number];
export const namespacedRbacKinds: ReadonlySet<string> = new Set(['Role', 'RoleBinding']);

/** Why an object was rejected; stable, asserted on by tests and scripts (the catalogue: errors.ts). */
export const RbacRuleCodes = Object.keys(RBAC_RULE_ERRORS) as readonly RbacRuleCode[];
export type { RbacRuleCode };

export interface RbacProblem {
  readonly code: RbacRuleCode;
  /** `Kind/namespace/name` or `objects[i]` when the object has no usable identity. */
  readonly object: string;
  readonly message: string;
}

const dnsName = z.string().min(1).max(253);
const labelMap = z.record(z.string().max(317), z.string().max(63));

export const policyRuleSchema = z.object({
  apiGroups: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  resourceNames: z.array(z.string()).optional(),
  nonResourceURLs: z.array(z.string()).optional(),
  verbs: z.array(z.string().min(1)).min(1),
}).strict();
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const subjectSchema = z.object({
  kind: z.enum(['User', 'Group', 'ServiceAccount']),
  name: z.string().min(1).max(253),
  namespace: z.string().optional(),
  apiGroup: z.string().optional(),
}).strict();
export type Subject = z.infer<typeof subjectSchema>;

export const roleRefSchema = z.object({
  apiGroup: z.literal('rbac.authorization.k8s.io').default('rbac.authorization.k8s.io'),
  kind: z.enum(['ClusterRole', 'Role']),
  name: dnsName,
}).strict();

const metadataSchema = z.object({
  name: dnsName,
  namespace: namespaceSchema.optional(),
  labels: labelMap.optional(),
  annotations: z.record(z.string().max(317), z.string().max(4096)).optional(),
}).strict();

/** One object of a baseline, in the canonical form the broker stores and serves. */
export const rbacObjectSchema = z.object({
  apiVersion: z.string(),
  kind: z.enum(rbacKinds),
  metadata: metadataSchema,
  rules: z.array(policyRuleSchema).optional(),
  roleRef: roleRefSchema.optional(),
  subjects: z.array(subjectSchema).optional(),
}).strict();
export type RbacObject = z.infer<typeof rbacObjectSchema>;

/** Every cluster, or those whose labels match all of `selector`. */
export const rbacTargetSchema = z.union([
  z.object({ all: z.literal(true) }).strict(),
  z.object({ selector: z.record(z.string().min(1).max(317), z.string().max(63)) }).strict(),
]);
export type RbacTarget = z.infer<typeof rbacTargetSchema>;

export const rbacApplyRequestSchema = z.object({
  /** Raw objects: validated by the broker's rules, which report every problem with a code. */
  objects: z.array(z.unknown()).max(5_000),
  target: rbacTargetSchema.default({ all: true }),
  allowKubeSystem: z.boolean().default(false),
}).strict();
export type RbacApplyRequest = z.input<typeof rbacApplyRequestSchema>;

export const rbacApplyResponseSchema = z.object({
  revision: z.number().int().nonnegative(),
  /** False when the content equals the current revision's (no new revision). */
  created: z.boolean(),
  hash: z.string(),
  objects: z.number().int(),
});
export type RbacApplyResponse = z.infer<typeof rbacApplyResponseSchema>;

export const rbacEntrySchema = z.object({ hash: z.string(), object: rbacObjectSchema });
export type RbacEntry = z.infer<typeof rbacEntrySchema>;

export const rbacBaselineInfoSchema = z.object({
  revision: z.number().int().nonnegative(),
  hash: z.string(),
  target: rbacTargetSchema,
  allowKubeSystem: z.boolean(),
  createdAt: z.string().nullable(),
  entries: z.array(rbacEntrySchema),
});
export type RbacBaselineInfo = z.infer<typeof rbacBaselineInfoSchema>;

export const rbacClusterBaselineSchema = z.object({
  revision: z.number().int().nonnegative(),
  /** False when the baseline's target does not select this cluster (everything owned is pruned). */
  targeted: z.boolean(),
  entries: z.array(rbacEntrySchema),
});
export type RbacClusterBaseline = z.infer<typeof rbacClusterBaselineSchema>;

export const objectRefSchema = z.object({
  kind: z.enum(rbacKinds),
  namespace: z.string().optional(),
  name: z.string(),
}).strict();
export type RbacObjectRef = z.infer<typeof objectRefSchema>;

export const driftEventSchema = objectRefSchema.extend({
  action: z.enum(['modified', 'deleted']),
  at: z.string(),
});
export type DriftEvent = z.infer<typeof driftEventSchema>;

export const rbacStatusReportSchema = z.object({
  /** The revision whose every object was applied (or found clashing); null before the first. */
  appliedRevision: z.number().int().nonnegative().nullable(),
  /** The revision the agent is working on. */
  seenRevision: z.number().int().nonnegative().nullable(),
  applied: z.array(objectRefSchema.extend({ hash: z.string() })).max(10_000),
  clashes: z.array(objectRefSchema).max(10_000),
  errors: z.array(objectRefSchema.extend({ message: z.string().max(1024) })).max(1_000),
  driftCount: z.number().int().nonnegative(),
  recentDrift: z.array(driftEventSchema).max(50),
}).strict();
export type RbacStatusReport = z.infer<typeof rbacStatusReportSchema>;
export const rbacStatusAckSchema = z.object({ ok: z.literal(true) });

export const rbacChangeSchema = objectRefSchema.extend({ action: z.enum(['create', 'update', 'delete', 'clash']) });
export type RbacChange = z.infer<typeof rbacChangeSchema>;

export const rbacClusterDiffSchema = z.object({
  cluster: clusterIdSchema,
  /** False when the agent never reported: changes assume an empty cluster. */
  known: z.boolean(),
  changes: z.array(rbacChangeSchema),
});
export const rbacDiffResponseSchema = z.object({
  revision: z.number().int().nonnegative(),
  clusters: z.array(rbacClusterDiffSchema),
});
export type RbacDiffResponse = z.infer<typeof rbacDiffResponseSchema>;

export const rbacComplianceSchema = z.object({
  cluster: clusterIdSchema,
  labels: z.record(z.string(), z.string()),
  targeted: z.boolean(),
  currentRevision: z.number().int().nonnegative(),
  appliedRevision: z.number().int().nonnegative().nullable(),
  compliant: z.boolean(),
  driftCount: z.number().int().nonnegative(),
  clashes: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  reportedAt: z.string().nullable(),
  report: rbacStatusReportSchema.nullable(),
});
export type RbacCompliance = z.infer<typeof rbacComplianceSchema>;
export const rbacComplianceResponseSchema = z.object({ revision: z.number().int().nonnegative(), clusters: z.array(rbacComplianceSchema) });
export type RbacComplianceResponse = z.infer<typeof rbacComplianceResponseSchema>;

export const labelKeySchema = z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'must be a Kubernetes label key');
export const labelValueSchema = z.string().regex(LABEL_VALUE, 'must be a Kubernetes label value');
export const rbacLabelRequestSchema = z.object({
  set: z.record(labelKeySchema, labelValueSchema).default({}),
  remove: z.array(labelKeySchema).default([]),
}).strict();
export type RbacLabelRequest = z.input<typeof rbacLabelRequestSchema>;

export const rbacPaths = {
  admin: '/v1/admin/rbac',
  adminDiff: '/v1/admin/rbac/diff',
  adminStatus: '/v1/admin/rbac/status',
  clusterLabels: (id: string) => `/v1/admin/clusters/${encodeURIComponent(id)}/labels`,
  baseline: '/v1/rbac/baseline',
  status: '/v1/rbac/status',
} as const;

/** `Kind/namespace/name` (empty namespace for cluster-scoped kinds): the key of one object everywhere. */
export function rbacRefKey(r: { kind: string; namespace?: string | undefined; name: string }): string {
  return `${r.kind}/${r.namespace ?? ''}/${r.name}`;
}
