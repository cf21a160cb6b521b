// The broker's TLS server material, kept current: the serving certificate (re-issued at 2/3
// of its life, and at once when the issuing root changes) and the CA list the server
// requests client certificates with (the trust bundle). Both go to the server through one
// `apply` (https.Server.setSecureContext), which affects new connections only.
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../../certs/ca.ts';
import { scheduleServingCertRotation, type ServingCertificate } from '../serving-cert.ts';
import type { CaMaterial, LiveCa } from './live-ca.ts';

export interface SecureContextMaterial {
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

export interface ServingTlsOptions {
  readonly live: LiveCa;
  readonly issue: (ca: CertificateAuthority) => Promise<ServingCertificate>;
  readonly clock: { now(): Date };
  readonly logger: Logger;
}

export class ServingTls {
  readonly #o: ServingTlsOptions;
  #cert: ServingCertificate;
  #issuer: CertificateAuthority;
  #apply: ((m: SecureContextMaterial) => void) | undefined;
  #schedule: { stop(): void } | undefined;

  static async start(o: ServingTlsOptions): Promise<ServingTls> {
    const issuer = o.live.issuing;
    return new ServingTls(o, await o.issue(issuer), issuer);
  }

  private constructor(o: ServingTlsOptions, cert: ServingCertificate, issuer: CertificateAuthority) {
    this.#o = o;
    this.#cert = cert;
    this.#issuer = issuer;
  }

  get certificate(): ServingCertificate {
    return this.#cert;
  }

  /** Starts pushing changes to the server (once it exists) and the periodic re-issue. */
  attach(apply: (m: SecureContextMaterial) => void): void {
    this.#apply = apply;
    this.#reschedule();
  }

  /** After a CA rollover step: a new issuing root means a new serving certificate now. */
  async caChanged(m: CaMaterial): Promise<void> {
    if (m.issuing !== this.#issuer) {
      this.#issuer = m.issuing;
      this.#cert = await this.#o.issue(m.issuing);
      this.#o.logger.info({ notAfter: this.#cert.notAfter.toISOString() }, 'serving certificate re-issued from the new issuing root');
      this.#reschedule();
    }
    this.#push();
  }

  stop(): void {
    this.#schedule?.stop();
    this.#apply = undefined;
  }

  #push(): void {
    this.#apply?.({ keyPem: this.#cert.keyPem, certPem: this.#cert.certPem, caPem: this.#o.live.bundle.toPem() });
  }

  #reschedule(): void {
    this.#schedule?.stop();
    this.#schedule = scheduleServingCertRotation({
      current: this.#cert,
      issue: () => this.#o.issue(this.#o.live.issuing),
      clock: this.#o.clock,
      apply: (c) => {
        this.#cert = c;
        this.#issuer = this.#o.live.issuing;
        this.#push();
      },
      onError: (err) => this.#o.logger.error({ err }, 'serving certificate rotation failed'),
    });
  }
}
