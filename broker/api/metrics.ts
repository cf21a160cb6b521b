// Wire contract of the read-only metrics identity: the certificate Prometheus presents to
// scrape GET /metrics on the broker's API port (mTLS, like every other route).
//
//   POST /v1/admin/metrics-identity   MetricsIdentityRequest -> MetricsIdentityResponse  (admin only)
//
// The key is made where the command runs; only the CSR travels. The certificate names
// spiffe://<clusterset>/admin/metrics, which the broker admits to /metrics and nothing else.
import { z } from 'zod';
import { pemSchema } from './types.ts';

export const metricsPaths = {
  scrape: '/metrics',
  adminIdentity: '/v1/admin/metrics-identity',
} as const;

export const metricsIdentityRequestSchema = z.object({
  csr: pemSchema,
  /** Default 90 days; at most 397 days. */
  lifetimeSeconds: z.number().int().min(3600).max(397 * 24 * 3600).optional(),
}).strict();
export type MetricsIdentityRequest = z.input<typeof metricsIdentityRequestSchema>;

export const metricsIdentityResponseSchema = z.object({
  identity: z.string(),
  certificate: z.string(),
  trustBundle: z.string(),
  notAfter: z.string(),
});
export type MetricsIdentityResponse = z.infer<typeof metricsIdentityResponseSchema>;
