// POST /v1/admin/metrics-identity (broker/api/metrics.ts), in the admin scope: issues the
// read-only scrape identity from the current issuing root. The CSR contributes only its key
// (proof of possession is checked); the name is always admin/metrics.
import type { FastifyPluginAsync } from 'fastify';
import { formatIdentity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { metricsIdentityRequestSchema, metricsPaths, type MetricsIdentityResponse } from '../api/metrics.ts';
import { METRICS_READER_NAME, metricsReaderIdentity } from '../admin-identity.ts';
import type { Clock } from '../clock.ts';
import { readCsrOrRefuse } from '../enroll/read-csr.ts';
import { parseWith } from '../http/parse.ts';

export interface MetricsIdentityRoutesOptions {
  readonly clusterset: string;
  readonly clock: Clock;
  /** The issuing root at the moment of the call (CA rollover may move it). */
  readonly issuingCa: () => CertificateAuthority;
  readonly trustBundlePem: () => string;
}

const DEFAULT_LIFETIME_SECONDS = 90 * 24 * 3600;

export const metricsIdentityRoutes: FastifyPluginAsync<MetricsIdentityRoutesOptions> = async (app, o) => {
  app.post(metricsPaths.adminIdentity, async (request, reply) => {
    const body = parseWith(metricsIdentityRequestSchema, request.body);
    const csr = await readCsrOrRefuse(body.csr);
    const identity = metricsReaderIdentity(o.clusterset);
    const issued = await issueCertificate({
      ca: o.issuingCa(), publicKey: csr.publicKey, commonName: METRICS_READER_NAME, identity, usages: ['clientAuth'],
      lifetimeSeconds: body.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS, now: o.clock.now(),
    });
    request.log.info({ identity: formatIdentity(identity), notAfter: issued.notAfter.toISOString() }, 'metrics identity issued');
    const res: MetricsIdentityResponse = {
      identity: formatIdentity(identity), certificate: issued.certPem, trustBundle: o.trustBundlePem(), notAfter: issued.notAfter.toISOString(),
    };
    return reply.code(201).send(res);
  });
};
