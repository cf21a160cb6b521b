// The admin identity (spiffe://<clusterset>/admin/admin) re-issued from the issuing root for
// POST /v1/admin/ca/admin-identity, so an admin who works from a .p12 on another machine
// (cli/broker/admin-credentials.ts) follows a CA rollover as DATA_DIR/admin/ does
// (root-files.ts syncAdminFiles): the answer carries the certificate from the root that
// issues now and the bundle to verify the broker with. Only the admin reaches the route
// (route-access.ts); the CSR contributes its key (proof of possession is checked), the
// name is always admin/admin.
import { formatIdentity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import type { AdminIdentityRequest, AdminIdentityResponse } from '../api/ca.ts';
import { ADMIN_NAME, adminIdentity } from '../admin-identity.ts';
import { readCsrOrRefuse } from '../enroll/read-csr.ts';
import { ADMIN_CERT_LIFETIME_SECONDS } from '../init.ts';

export async function issueAdminIdentity(
  o: { clusterset: string; now: Date; issuing: CertificateAuthority; bundlePem: string },
  body: AdminIdentityRequest,
): Promise<AdminIdentityResponse> {
  const csr = await readCsrOrRefuse(body.csr);
  const identity = adminIdentity(o.clusterset);
  const issued = await issueCertificate({
    ca: o.issuing, publicKey: csr.publicKey, commonName: ADMIN_NAME, identity, usages: ['clientAuth'],
    lifetimeSeconds: ADMIN_CERT_LIFETIME_SECONDS, now: o.now,
  });
  return { identity: formatIdentity(identity), certificate: issued.certPem, trustBundle: o.bundlePem, notAfter: issued.notAfter.toISOString() };
}
