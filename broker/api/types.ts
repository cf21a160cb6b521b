// The broker's wire contract: request and response shapes of every endpoint, as zod
// schemas shared by the server (validation) and clients (parsing). This folder is the
// only part of broker/ that agent/ may import.
import { z } from 'zod';
import { clusterIdSchema } from './names.ts';

export { clusterIdSchema };
export const pemSchema = z.string().min(1).max(16 * 1024);
export const tokenSchema = z.string().regex(/^plx1\.[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/, 'malformed token');

export const paths = {
  healthz: '/healthz',
  readyz: '/readyz',
  trustBundle: '/v1/trust-bundle',
  join: '/v1/join',
  renew: '/v1/renew',
  adminTokens: '/v1/admin/tokens',
  adminToken: (id: string) => `/v1/admin/tokens/${encodeURIComponent(id)}`,
  adminClusters: '/v1/admin/clusters',
  adminCluster: (id: string) => `/v1/admin/clusters/${encodeURIComponent(id)}`,
} as const;

// POST /v1/join (no client certificate; the one-time token authenticates)
export const joinRequestSchema = z.object({ token: tokenSchema, csr: pemSchema }).strict();
export type JoinRequest = z.infer<typeof joinRequestSchema>;

// POST /v1/renew (mTLS: the cluster's current certificate)
export const renewRequestSchema = z.object({ csr: pemSchema }).strict();
export type RenewRequest = z.infer<typeof renewRequestSchema>;

/** Result of join and renew: the new leaf and the bundle to trust. */
export const identityResponseSchema = z.object({
  clusterId: clusterIdSchema,
  identity: z.string(),            // spiffe://<clusterset>/cluster/<id>
  certificate: z.string(),         // PEM leaf
  trustBundle: z.string(),         // PEM, one or more roots
  notAfter: z.string(),            // RFC 3339
});
export type IdentityResponse = z.infer<typeof identityResponseSchema>;

// GET /v1/trust-bundle (public)
export const trustBundleResponseSchema = z.object({
  clusterset: z.string(),
  trustBundle: z.string(),
  fingerprints: z.array(z.string()),
  /** The root that issues now (CA rollover); absent from older brokers. */
  issuingFingerprint: z.string().optional(),
});
export type TrustBundleResponse = z.infer<typeof trustBundleResponseSchema>;

// Admin API (mTLS: an admin identity)
export const createTokenRequestSchema = z.object({
  cluster: clusterIdSchema,
  ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(3600),
}).strict();
export type CreateTokenRequest = z.input<typeof createTokenRequestSchema>;

export const tokenInfoSchema = z.object({
  id: z.string(),
  kind: z.enum(['cluster', 'user']),
  subject: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  usedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  state: z.enum(['pending', 'used', 'expired', 'revoked']),
});
export type TokenInfo = z.infer<typeof tokenInfoSchema>;

export const createTokenResponseSchema = z.object({
  token: z.string(),               // shown once; only its hash is stored
  info: tokenInfoSchema,
  caFingerprint: z.string(),       // sha256:<hex> of the root the agent must pin
});
export type CreateTokenResponse = z.infer<typeof createTokenResponseSchema>;

export const tokenListResponseSchema = z.object({ tokens: z.array(tokenInfoSchema) });

export const clusterInfoSchema = z.object({
  id: clusterIdSchema,
  state: z.enum(['active', 'removed']),
  joinedAt: z.string(),
  removedAt: z.string().nullable(),
  certificateSerial: z.string().nullable(),
  certificateNotAfter: z.string().nullable(),
  /** Admin-set labels (`plexus broker cluster label`), used to target the RBAC baseline. */
  labels: z.record(z.string(), z.string()).default({}),
});
export type ClusterInfo = z.infer<typeof clusterInfoSchema>;
export const clusterListResponseSchema = z.object({ clusters: z.array(clusterInfoSchema) });
