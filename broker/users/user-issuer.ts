// Turns a person's CSR into a short-lived client certificate: spiffe://<clusterset>/user/<name>,
// CN=<name>, O=<groups>, clientAuth only. The broker decides the names from the invitation
// (or the current certificate); the CSR contributes only its key and proof of possession.
import { CertError } from '../../certs/errors.ts';
import { readCsr, type VerifiedCsr } from '../../certs/csr.ts';
import type { Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { normalizeSerial } from '../enroll/cluster-issuer.ts';
import { BrokerError } from '../errors.ts';

export interface UserIssuerOptions {
  readonly ca: CertificateAuthority;
  readonly clusterset: string;
  readonly lifetimeSeconds: number;
}

export interface IssuedUserCertificate {
  readonly identity: Identity;
  readonly certPem: string;
  readonly serial: string;
  readonly notAfter: Date;
}

export class UserIssuer {
  readonly #o: UserIssuerOptions;

  constructor(o: UserIssuerOptions) {
    this.#o = o;
  }

  get clusterset(): string {
    return this.#o.clusterset;
  }

  identityOf(name: string): Identity {
    return { trustDomain: this.#o.clusterset, kind: 'user', name };
  }

  /** Verifies the CSR's self-signature (proof that the caller holds the key). */
  async readUserCsr(pem: string): Promise<VerifiedCsr> {
    try {
      return await readCsr(pem);
    } catch (e) {
      if (e instanceof CertError && e.code === 'PLX_CERTS_CSR_SIGNATURE') {
        throw new BrokerError('PLX_BROKER_CSR_SIGNATURE', 'the CSR signature does not verify', { cause: e });
      }
      if (e instanceof CertError) throw new BrokerError('PLX_BROKER_BAD_CSR', `unusable CSR: ${e.message}`, { cause: e });
      throw e;
    }
  }

  async issue(csr: VerifiedCsr, name: string, groups: readonly string[], now: Date): Promise<IssuedUserCertificate> {
    const identity = this.identityOf(name);
    const issued = await issueCertificate({
      ca: this.#o.ca, publicKey: csr.publicKey, commonName: name, organizations: [...groups], identity,
      usages: ['clientAuth'], lifetimeSeconds: this.#o.lifetimeSeconds, now,
    });
    return { identity, certPem: issued.certPem, serial: normalizeSerial(issued.serial), notAfter: issued.notAfter };
  }
}
