// The broker's current trust material: the CA that issues, and the bundle it serves and
// verifies clients with. CA rollover replaces it with set(); every reader asks at the
// moment it needs it (issuers, the authenticator, the trust-bundle routes), and
// subscribers (the TLS server's secure context, the serving certificate) are told.
import type { CertificateAuthority } from '../../certs/ca.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import type { TrustBundle } from '../../certs/trust-bundle.ts';
import type { TrustBundleAckResponse } from '../api/ca.ts';

export interface CaMaterial {
  readonly issuing: CertificateAuthority;
  readonly bundle: TrustBundle;
}

export type CaListener = (next: CaMaterial, previous: CaMaterial) => void;

export class LiveCa {
  #current: CaMaterial;
  #issuingFingerprint: string;
  readonly #listeners = new Set<CaListener>();

  constructor(initial: CaMaterial) {
    this.#current = initial;
    this.#issuingFingerprint = fingerprintSha256(initial.issuing.cert);
  }

  get issuing(): CertificateAuthority {
    return this.#current.issuing;
  }

  get bundle(): TrustBundle {
    return this.#current.bundle;
  }

  get issuingFingerprint(): string {
    return this.#issuingFingerprint;
  }

  /**
   * The root join tokens and invitations pin: the issuing root. It is the root the serving
   * certificate and the issued certificates chain to, and `plexus agent join`/`plexus login`
   * trust only the pinned root for the token exchange. A token made before a rollover flips
   * the issuing root fails with a CA_PIN_MISMATCH code; make a new one.
   */
  get pinFingerprint(): string {
    return this.#issuingFingerprint;
  }

  /** The trust-bundle answer (GET /v1/trust-bundle and the cluster's acknowledgement). */
  trustBundleResponse(clusterset: string): TrustBundleAckResponse {
    const bundle = this.#current.bundle;
    return { clusterset, trustBundle: bundle.toPem(), fingerprints: bundle.fingerprints(), issuingFingerprint: this.#issuingFingerprint };
  }

  subscribe(fn: CaListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Replaces the material and notifies; a listener that throws does not stop the others. */
  set(next: CaMaterial): void {
    const previous = this.#current;
    this.#current = next;
    this.#issuingFingerprint = fingerprintSha256(next.issuing.cert);
    const errors: unknown[] = [];
    for (const fn of [...this.#listeners]) {
      try {
        fn(next, previous);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'a CA listener failed');
  }
}
