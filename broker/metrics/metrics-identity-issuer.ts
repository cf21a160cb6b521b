// The read-only scrape identity (admin/metrics), issued from the current issuing root for
// POST /v1/admin/metrics-identity (broker/http/metrics-identity-routes.ts). The CSR
// contributes only its key (proof of possession is checked); the name is always admin/metrics.
import { formatIdentity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import type { MetricsIdentityRequest, MetricsIdentityResponse } from '../api/metrics.ts';
import { METRICS_READER_NAME, metricsReaderIdentity } from '../admin-identity.ts';
import type { Clock } from '../clock.ts';
import { readCsrOrRefuse } from '../enroll/read-csr.ts';

export interface MetricsIdentityIssuerOptions {
  readonly clusterset: string;
  readonly clock: Clock;
  /** The issuing root at the moment of the call (CA rollover may move it). */
  readonly issuingCa: () => CertificateAuthority;
  readonly trustBundlePem: () => string;
}

const DEFAULT_LIFETIME_SECONDS = 90 * 24 * 3600;

export async function issueMetricsIdentity(o: MetricsIdentityIssuerOptions, body: MetricsIdentityRequest): Promise<MetricsIdentityResponse> {
  const csr = await readCsrOrRefuse(body.csr);
  const identity = metricsReaderIdentity(o.clusterset);
  const issued = await issueCertificate({
    ca: o.issuingCa(), publicKey: csr.publicKey, commonName: METRICS_READER_NAME, identity, usages: ['clientAuth'],
    lifetimeSeconds: body.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS, now: o.clock.now(),
  });
  return {
    identity: formatIdentity(identity), certificate: issued.certPem, trustBundle: o.trustBundlePem(), notAfter: issued.notAfter.toISOString(),
  };
}
