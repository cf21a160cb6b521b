// Turns a cluster's CSR into a certificate: verify the CSR, check that it names exactly
// the expected cluster identity, issue under the root. Shared by join and renew; errors
// from certs/ become broker API codes here.
import type { VerifiedCsr } from '../../certs/csr.ts';
import { formatIdentity, sameIdentity, type Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { clusterServerName } from '../api/advertisement.ts';
import { BrokerError } from '../errors.ts';
import { readCsrOrRefuse } from './read-csr.ts';

export interface ClusterIssuerOptions {
  readonly ca: CertificateAuthority;
  readonly clusterset: string;
  readonly lifetimeSeconds: number;
}

export interface IssuedClusterCertificate {
  readonly identity: Identity;
  readonly certPem: string;
  readonly serial: string;
  readonly notAfter: Date;
  /** Fingerprint of the issuing root. */
  readonly issuer: string;
}

/** Serials are compared as lowercase hex without leading zeros, whatever their source. */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

export class ClusterIssuer {
  readonly #o: ClusterIssuerOptions;

  constructor(o: ClusterIssuerOptions) {
    this.#o = o;
  }

  identityOf(clusterId: string): Identity {
    return { trustDomain: this.#o.clusterset, kind: 'cluster', name: clusterId };
  }

  /** Verifies the CSR's signature and that it asks for exactly this cluster's identity. */
  async readClusterCsr(pem: string, clusterId: string): Promise<VerifiedCsr> {
    const csr = await readCsrOrRefuse(pem);
    const expected = this.identityOf(clusterId);
    if (!csr.identity || !sameIdentity(csr.identity, expected) || csr.commonName !== clusterId) {
      throw new BrokerError('PLX_BROKER_CSR_IDENTITY_MISMATCH',
        `the CSR must ask for exactly ${formatIdentity(expected)} with CN=${clusterId}`);
    }
    return csr;
  }

  async issue(csr: VerifiedCsr, clusterId: string, now: Date): Promise<IssuedClusterCertificate> {
    const identity = this.identityOf(clusterId);
    // Read the CA once: during a CA rollover the issuing root may change between calls.
    const ca = this.#o.ca;
    const issued = await issueCertificate({
      ca,
      publicKey: csr.publicKey,
      commonName: clusterId,
      identity,
      // kubectl verifies hostnames: `tls-server-name` in the kubeconfig names this SAN.
      dnsNames: [clusterServerName(clusterId, this.#o.clusterset)],
      usages: ['clientAuth', 'serverAuth'],
      lifetimeSeconds: this.#o.lifetimeSeconds,
      now,
    });
    return { identity, certPem: issued.certPem, serial: normalizeSerial(issued.serial), notAfter: issued.notAfter, issuer: fingerprintSha256(ca.cert) };
  }
}
