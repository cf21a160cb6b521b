// Who is on the other end of a gateway connection, and may it open a stream now.
//
// Once per TLS connection: the client certificate must chain to a root of the clusterset's
// current trust bundle (certs/ verifyLeaf at the injected clock, clientAuth), name exactly
// one SPIFFE identity in this clusterset's trust domain, of kind cluster. The TLS layer
// asks for a certificate but does not reject, so that an untrusted or missing certificate
// is refused with a reason, counted and logged with what the peer claimed to be.
//
// On every stream: the certificate has not expired since the handshake, its root is still
// trusted (CA rollover removed it), its serial is not revoked and the cluster is a current
// member. A long-lived connection therefore never outlives a removal or a revocation.
import { CertError } from '../certs/errors.ts';
import { encodePem } from '../certs/pem.ts';
import type { TrustBundle } from '../certs/trust-bundle.ts';
import { verifyLeaf } from '../certs/verify.ts';
import type { RefusalReason } from './refusal.ts';

/** Fed by the agent from the broker (catalog watch: members; revoked cluster serials). */
export interface Membership {
  isMember(cluster: string): boolean;
  isRevoked(serial: string): boolean;
}

export interface VerifiedPeer {
  readonly cluster: string;
  /** spiffe://<clusterset>/cluster/<cluster> */
  readonly identity: string;
  readonly serial: string;
  readonly notAfter: Date;
  readonly issuerFingerprint: string;
}

export type PeerResult =
  | { readonly ok: true; readonly peer: VerifiedPeer }
  | { readonly ok: false; readonly reason: RefusalReason; readonly claimed: string; readonly detail: string };

/** What a certificate says it is, for the log of a refused peer (not trusted). */
function claimedIdentity(subjectaltname: string | undefined): string {
  const uris = (subjectaltname ?? '').split(', ').filter((e) => e.startsWith('URI:'));
  return uris.length === 1 ? uris[0]!.slice(4) : uris.length === 0 ? '(no SPIFFE identity)' : '(several URI SANs)';
}

export async function authenticatePeer(o: {
  der: Uint8Array | undefined;
  subjectaltname: string | undefined;
  bundle: TrustBundle;
  clusterset: string;
  now: Date;
}): Promise<PeerResult> {
  if (!o.der || o.der.length === 0) return { ok: false, reason: 'no-client-cert', claimed: '(no certificate)', detail: 'no client certificate' };
  const claimed = claimedIdentity(o.subjectaltname);
  let leaf;
  try {
    leaf = await verifyLeaf({ certPem: encodePem(o.der, 'CERTIFICATE'), bundle: o.bundle, now: o.now, usage: 'clientAuth' });
  } catch (e) {
    const code = e instanceof CertError ? e.code : 'unknown';
    const reason: RefusalReason = code === 'PLX_CERTS_EXPIRED' || code === 'PLX_CERTS_NOT_YET_VALID' ? 'expired' : 'untrusted';
    return { ok: false, reason, claimed, detail: `${code}: ${(e as Error).message}` };
  }
  const id = leaf.identity;
  if (!id) return { ok: false, reason: 'not-a-cluster', claimed, detail: 'certificate names no SPIFFE identity' };
  if (id.trustDomain !== o.clusterset) return { ok: false, reason: 'other-clusterset', claimed, detail: `trust domain ${id.trustDomain}, expected ${o.clusterset}` };
  if (id.kind !== 'cluster') return { ok: false, reason: 'not-a-cluster', claimed, detail: `identity kind ${id.kind}` };
  const identity = `spiffe://${id.trustDomain}/cluster/${id.name}`;
  return {
    ok: true,
    peer: { cluster: id.name, identity, serial: leaf.serial, notAfter: leaf.notAfter, issuerFingerprint: leaf.issuerFingerprint },
  };
}

/** The per-stream check; null when the peer may open a stream now. */
export function streamRefusal(peer: VerifiedPeer, o: { membership: Membership; bundle: TrustBundle; now: Date }): RefusalReason | null {
  if (o.now.getTime() > peer.notAfter.getTime()) return 'expired';
  if (!o.bundle.has(peer.issuerFingerprint)) return 'untrusted';
  if (o.membership.isRevoked(peer.serial)) return 'revoked';
  if (!o.membership.isMember(peer.cluster)) return 'not-a-member';
  return null;
}
