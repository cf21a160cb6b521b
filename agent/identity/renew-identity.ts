// One renewal of the cluster identity: a fresh key pair (same algorithm as the current
// key) and a CSR made here, traded at POST /v1/renew for a new certificate. The private
// key never leaves this process; the answer is verified like join's (chains to the
// returned bundle, names exactly this cluster) before anything is stored.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { IdentityResponse, RenewRequest } from '../../broker/api/types.ts';
import { CLOCK_SKEW_MS } from '../../certs/ca.ts';
import { createCsr } from '../../certs/csr.ts';
import { formatIdentity, parseIdentity, sameIdentity } from '../../certs/identity.ts';
import { exportPrivateKeyPem, generateKeyPair, keyAlgorithmOf } from '../../certs/keys.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { AgentError } from '../errors.ts';
import type { StoredIdentity } from './identity-store.ts';

export type RenewCall = (body: RenewRequest) => Promise<IdentityResponse>;

export interface CertificateDates {
  /**
   * When the broker issued it: notBefore plus the clock-skew allowance the issuer backdates
   * by (certs/ca.ts CLOCK_SKEW_MS). Renewal and warning points are shares of the life from
   * here, so a short lifetime is not eaten by the backdating.
   */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Lowercase hex, as the broker records it. */
  readonly serial: string;
}

/** Validity and serial of the identity's leaf certificate. */
export function certificateDates(certPem: string): CertificateDates {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new AgentError('PLX_AGENT_IDENTITY_STORE', 'the stored cluster certificate cannot be parsed', { cause: err });
  }
  const notBefore = cert.validFromDate.getTime();
  const notAfter = cert.validToDate.getTime();
  const issuedAt = Math.max(notBefore, Math.min(notBefore + CLOCK_SKEW_MS, notAfter - 1000));
  return { notBefore: new Date(issuedAt), notAfter: new Date(notAfter), serial: cert.serialNumber.toLowerCase() };
}

/** Trades a fresh CSR for a new certificate; resolves to the identity to store (not stored yet). */
export async function renewIdentity(current: StoredIdentity, renew: RenewCall, now: Date): Promise<StoredIdentity> {
  const expected = parseIdentity(current.identity);
  const algorithm = keyAlgorithmOf(createPrivateKey(current.keyPem));
  const keys = await generateKeyPair(algorithm);
  const csr = await createCsr({ keys, commonName: current.clusterId, identity: expected });
  const res = await renew({ csr });
  let leaf;
  try {
    const bundle = TrustBundle.fromPem(res.trustBundle);
    leaf = await verifyLeaf({ certPem: res.certificate, bundle, now, usage: 'clientAuth', trustDomain: expected.trustDomain });
  } catch (err) {
    throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', `the renewed certificate does not verify: ${(err as Error).message}`, { cause: err });
  }
  if (!leaf.identity || !sameIdentity(leaf.identity, expected) || !sameIdentity(parseIdentity(res.identity), expected)) {
    throw new AgentError('PLX_AGENT_IDENTITY_MISMATCH', `broker renewed ${res.identity}, expected ${formatIdentity(expected)}`);
  }
  const keyPem = await exportPrivateKeyPem(keys.privateKey);
  if (!new X509Certificate(res.certificate).checkPrivateKey(createPrivateKey(keyPem))) {
    throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', 'the renewed certificate is not for the key this agent just made');
  }
  return {
    ...current,
    certPem: res.certificate,
    keyPem,
    trustBundle: res.trustBundle,
    notAfter: leaf.notAfter.toISOString(),
  };
}
