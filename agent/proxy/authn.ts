// Who is calling the access proxy: the client certificate must chain to the clusterset's
// trust bundle (certs/ verifyLeaf, at the injected clock), be valid for clientAuth, name a
// user in this clusterset by its SPIFFE URI (never by CN), and the user must not be
// revoked. The chain is verified once per TLS connection; expiry and revocation are
// checked on every request, so a long-lived connection cannot outlive either. A revocation
// list older than `maxStalenessMs` (the agent cut off from the broker) refuses everyone:
// a person revoked meanwhile must not keep access for as long as the outage lasts.
import { CertError } from '../../certs/errors.ts';
import { encodePem } from '../../certs/pem.ts';
import type { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { ProxyError } from './proxy-error.ts';
import type { RevokedUsers } from './revoked-users.ts';

export interface ProxyIdentity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly notAfter: Date;
}

export interface ProxyAuthenticatorOptions {
  readonly trustBundle: TrustBundle;
  readonly clusterset: string;
  readonly now: () => Date;
  readonly revoked: Pick<RevokedUsers, 'isRevoked' | 'ready' | 'staleForMs'>;
  /** How long without a revocation update the proxy still serves people (agent config revocationMaxStalenessMs). */
  readonly maxStalenessMs: number;
}

function refusal(e: unknown): ProxyError {
  if (e instanceof CertError && (e.code === 'PLX_CERTS_EXPIRED' || e.code === 'PLX_CERTS_NOT_YET_VALID')) {
    return new ProxyError('PLX_AGENT_PROXY_CERT_EXPIRED', 'client certificate is not valid now', { cause: e });
  }
  return new ProxyError('PLX_AGENT_PROXY_CERT_UNTRUSTED', 'client certificate is not trusted by this clusterset', { cause: e });
}

export class ProxyAuthenticator {
  readonly #o: ProxyAuthenticatorOptions;
  #bundle: TrustBundle;

  constructor(o: ProxyAuthenticatorOptions) {
    this.#o = o;
    this.#bundle = o.trustBundle;
  }

  /** The clusterset's roots changed (CA rollover): connections verified from now on use `bundle`. */
  setTrustBundle(bundle: TrustBundle): void {
    this.#bundle = bundle;
  }

  /** Full verification of the peer certificate (DER from the TLS socket). */
  async authenticate(der: Uint8Array | undefined): Promise<ProxyIdentity> {
    if (!der || der.length === 0) throw new ProxyError('PLX_AGENT_PROXY_UNAUTHENTICATED', 'a client certificate is required (run `plexus login`)');
    let leaf;
    try {
      leaf = await verifyLeaf({ certPem: encodePem(der, 'CERTIFICATE'), bundle: this.#bundle, now: this.#o.now(), usage: 'clientAuth', trustDomain: this.#o.clusterset });
    } catch (e) {
      throw refusal(e);
    }
    if (leaf.identity?.kind !== 'user') {
      throw new ProxyError('PLX_AGENT_PROXY_NOT_A_USER', 'the access proxy serves people: the certificate must name spiffe://<clusterset>/user/<name>');
    }
    const identity: ProxyIdentity = { user: leaf.identity.name, groups: [...leaf.organizations], notAfter: leaf.notAfter };
    this.check(identity);
    return identity;
  }

  /** Per request: still within validity, not revoked, and the revocation list is known. */
  check(identity: ProxyIdentity): void {
    if (this.#o.now().getTime() > identity.notAfter.getTime()) {
      throw new ProxyError('PLX_AGENT_PROXY_CERT_EXPIRED', `client certificate expired at ${identity.notAfter.toISOString()}`);
    }
    if (!this.#o.revoked.ready) throw new ProxyError('PLX_AGENT_PROXY_NOT_READY', 'the proxy has not received the revocation list from the broker yet');
    const stale = this.revocationsStale();
    if (stale !== null) throw new ProxyError('PLX_AGENT_PROXY_REVOCATIONS_STALE', stale);
    if (this.#o.revoked.isRevoked(identity.user)) throw new ProxyError('PLX_AGENT_PROXY_USER_REVOKED', `user "${identity.user}" is revoked`);
  }

  /** Why the revocation list is too old to serve anyone by (fail closed), or null while it is current enough. */
  revocationsStale(): string | null {
    if (!this.#o.revoked.ready) return null;
    const staleMs = this.#o.revoked.staleForMs(this.#o.now()) ?? Infinity;
    if (staleMs <= this.#o.maxStalenessMs) return null;
    const age = Number.isFinite(staleMs) ? `for ${Math.round(staleMs / 1000)} s` : 'since start';
    return `no revocation update from the broker ${age} (limit ${Math.round(this.#o.maxStalenessMs / 1000)} s, --revocation-max-staleness): `
      + 'refusing everyone until the broker is reachable again';
  }
}
