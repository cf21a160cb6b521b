// A remote admin's .p12 through a CA rollover. On the broker's disk the broker itself keeps
// DATA_DIR/admin/ in line (broker/ca/root-files.ts); a .p12 elsewhere holds the roots and the
// certificate of the day it was exported, and once phase 3 serves from the new root it no
// longer verifies the broker. So `ca status` and `ca rotate`, run with a .p12, bring it in line
// themselves: when its roots differ from the bundle or its certificate is not from the issuing
// root, they ask POST /v1/admin/ca/admin-identity for a certificate for the same key and write
// the file again (same password, 0600, atomically). Trust moves one step at a time: the new
// bundle must share a root with the one in the file (the answer came over TLS verified with it).
import { createPublicKey, X509Certificate } from 'node:crypto';
import { adminIdentityResponseSchema, caPaths, type CaStatus } from '../../broker/api/ca.ts';
import { ADMIN_NAME } from '../../broker/admin-identity.ts';
import type { AdminClient } from '../../broker/admin-client.ts';
import { BrokerError } from '../../broker/errors.ts';
import { createCsr } from '../../certs/csr.ts';
import { importPrivateKeyPem, keyAlgorithmOf, webCryptoKeyParams } from '../../certs/keys.ts';
import { fingerprintSha256, splitPemBlocks } from '../../certs/pem.ts';
import { writePkcs12File } from '../pkcs12-file.ts';
import { checkAdminCertificate, type AdminCredentials } from './admin-credentials.ts';

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Whether the .p12 trusts exactly the bundle and holds a certificate from the issuing root. */
export function p12InLine(creds: Pick<AdminCredentials, 'certPem' | 'caPem'>, status: Pick<CaStatus, 'bundleFingerprints' | 'issuingFingerprint'>): boolean {
  const roots = splitPemBlocks(creds.caPem, 'CERTIFICATE');
  const issuing = roots.find((r) => fingerprintSha256(r) === status.issuingFingerprint);
  return sameSet(roots.map((r) => fingerprintSha256(r)), status.bundleFingerprints)
    && issuing !== undefined && new X509Certificate(creds.certPem).verify(new X509Certificate(issuing).publicKey);
}

/** Rewrites the .p12 if it is out of line with `status`; returns the file written, if any. */
export async function refreshAdminP12(client: AdminClient, creds: AdminCredentials, status: CaStatus): Promise<string | undefined> {
  if (!creds.p12 || p12InLine(creds, status)) return undefined;
  const privateKey = await importPrivateKeyPem(creds.keyPem);
  const publicKeyObject = createPublicKey(creds.keyPem);
  const publicKey = await publicKeyObject.toCryptoKey(webCryptoKeyParams(keyAlgorithmOf(publicKeyObject)), true, ['verify']);
  const csr = await createCsr({ keys: { privateKey, publicKey }, commonName: ADMIN_NAME });
  const res = await client.request('POST', caPaths.adminIdentity, { csr }, adminIdentityResponseSchema);
  const held = new Set(splitPemBlocks(creds.caPem, 'CERTIFICATE').map((r) => fingerprintSha256(r)));
  if (!splitPemBlocks(res.trustBundle, 'CERTIFICATE').some((r) => held.has(fingerprintSha256(r)))) {
    throw new BrokerError('PLX_BROKER_BAD_RESPONSE', 'the broker answered with a trust bundle that shares no root with the admin .p12; it was not written');
  }
  checkAdminCertificate(res.certificate, 'the re-issued certificate');
  const id = new X509Certificate(res.certificate).subjectAltName?.match(/URI:spiffe:\/\/([^/]+)\//)?.[1];
  return writePkcs12File(creds.p12.file, {
    keyPem: creds.keyPem, certPem: res.certificate, caPem: res.trustBundle, password: creds.p12.password,
    friendlyName: id ? `plexus ${ADMIN_NAME}@${id}` : 'plexus admin',
  });
}
