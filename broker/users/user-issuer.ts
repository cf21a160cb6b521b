// Turns a person's CSR into a short-lived client certificate: spiffe://<clusterset>/user/<name>,
// CN=<name>, O=<groups>, clientAuth only. The broker decides the names from the invitation
// (or the current certificate); the CSR contributes only its key and proof of possession.
import type { VerifiedCsr } from '../../certs/csr.ts';
import type { Identity } from '../../certs/identity.ts';
import { issueCertificate } from '../../certs/issue.ts';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { normalizeSerial } from '../enroll/cluster-issuer.ts';

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

  async issue(csr: VerifiedCsr, name: string, groups: readonly string[], now: Date): Promise<IssuedUserCertificate> {
    const identity = this.identityOf(name);
    const issued = await issueCertificate({
      ca: this.#o.ca, publicKey: csr.publicKey, commonName: name, organizations: [...groups], identity,
      usages: ['clientAuth'], lifetimeSeconds: this.#o.lifetimeSeconds, now,
    });
    return { identity, certPem: issued.certPem, serial: normalizeSerial(issued.serial), notAfter: issued.notAfter };
  }
}
