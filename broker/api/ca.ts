// Wire contract of CA rollover (broker/ca/): the admin's `ca rotate` / `ca status`, and the
// cluster-scoped trust-bundle acknowledgement through which agents report which roots they
// trust and learn which root issues now.
import { z } from 'zod';
import { pemSchema, trustBundleResponseSchema } from './types.ts';

export const caPaths = {
  status: '/v1/admin/ca',
  rotate: '/v1/admin/ca/rotate',
  adminIdentity: '/v1/admin/ca/admin-identity',
  trustBundleAck: '/v1/trust-bundle/ack',
} as const;

/** Phases: 0 no rollover yet; 1 new root in bundle; 2 every agent has it; 3 issuing from it;
 *  4 every identity re-issued; 5 old root removed (rollover complete). */
export const caPhaseSchema = z.number().int().min(0).max(5);
export type CaPhase = 0 | 1 | 2 | 3 | 4 | 5;

export const fingerprintSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex digits>');

// POST /v1/admin/ca/rotate
export const caRotateRequestSchema = z.object({
  /** Run exactly this phase (idempotent); without it, the next phase. With rollback: undo this phase. */
  phase: z.number().int().min(1).max(5).optional(),
  rollback: z.boolean().default(false),
  /** Advance out of a wait phase although some clusters lag. */
  force: z.boolean().default(false),
}).strict();
export type CaRotateRequest = z.input<typeof caRotateRequestSchema>;

export const caRootInfoSchema = z.object({
  generation: z.number().int(),
  fingerprint: z.string(),
  notAfter: z.string(),
  inBundle: z.boolean(),
  issuing: z.boolean(),
  /** old / new of the rollover under way (or just finished); current when idle; retired when out of the bundle. */
  role: z.enum(['current', 'old', 'new', 'retired']),
});
export type CaRootInfo = z.infer<typeof caRootInfoSchema>;

export const caClusterInfoSchema = z.object({
  id: z.string(),
  /** The cluster acknowledged exactly the bundle served now. */
  hasBundle: z.boolean(),
  ackedFingerprints: z.array(z.string()),
  ackedAt: z.string().nullable(),
  /** Fingerprint of the root that issued its newest certificate (null: unknown). */
  issuer: z.string().nullable(),
  issuerGeneration: z.number().int().nullable(),
  lagging: z.boolean(),
});
export type CaClusterInfo = z.infer<typeof caClusterInfoSchema>;

export const caHistoryEntrySchema = z.object({
  at: z.string(),
  action: z.enum(['advance', 'rollback']),
  from: caPhaseSchema,
  to: caPhaseSchema,
  forced: z.boolean(),
  detail: z.string(),
});

export const caStatusSchema = z.object({
  phase: caPhaseSchema,
  phaseName: z.string(),
  issuingFingerprint: z.string(),
  bundleFingerprints: z.array(z.string()),
  roots: z.array(caRootInfoSchema),
  clusters: z.array(caClusterInfoSchema),
  /** Clusters that hold up the next phase (empty when nothing waits). */
  lagging: z.array(z.string()),
  /** Person certificates from the old root may be valid until then (phase 3 on). */
  oldUserCertsValidUntil: z.string().nullable(),
  history: z.array(caHistoryEntrySchema),
});
export type CaStatus = z.infer<typeof caStatusSchema>;

export const caRotateResponseSchema = z.object({
  changed: z.boolean(),
  message: z.string(),
  status: caStatusSchema,
});
export type CaRotateResponse = z.infer<typeof caRotateResponseSchema>;

// POST /v1/trust-bundle/ack (mTLS: a cluster identity)
export const trustBundleAckRequestSchema = z.object({
  /** Fingerprints of the roots the agent trusts now. */
  fingerprints: z.array(fingerprintSchema).min(1).max(16),
}).strict();
export type TrustBundleAckRequest = z.infer<typeof trustBundleAckRequestSchema>;

/** GET /v1/trust-bundle's answer, with the issuing root always present. */
export const trustBundleAckResponseSchema = trustBundleResponseSchema.extend({
  /** The root that issues certificates now: an agent whose certificate came from another renews. */
  issuingFingerprint: z.string(),
});
export type TrustBundleAckResponse = z.infer<typeof trustBundleAckResponseSchema>;

// POST /v1/admin/ca/admin-identity (admin only): the admin's certificate from the issuing
// root for the key in the CSR, and the bundle; how a remote admin's .p12 follows a rollover.
export const adminIdentityRequestSchema = z.object({ csr: pemSchema }).strict();
export type AdminIdentityRequest = z.input<typeof adminIdentityRequestSchema>;

export const adminIdentityResponseSchema = z.object({
  identity: z.string(),
  certificate: z.string(),
  trustBundle: z.string(),
  notAfter: z.string(),
});
export type AdminIdentityResponse = z.infer<typeof adminIdentityResponseSchema>;
