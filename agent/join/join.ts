// Enrolls this cluster with the broker: pin the broker's root by fingerprint, make a key
// here (it never leaves), send only a CSR with the one-time token over TLS verified
// against the pinned root alone, check that the certificate chains to that root, then
// store the identity. Re-running with a valid identity for the same cluster is a no-op;
// with an expired one it first asks the broker to renew it (the broker's renewal grace):
// in a pod the init container runs join on every restart, and an agent restarted after
// its certificate lapsed (a broker outage, a node down for the weekend) must come back
// the way `agent run` would, not by spending a token that was used long ago.
import { createCsr } from '../../certs/csr.ts';
import { formatIdentity, parseIdentity, sameIdentity, type Identity } from '../../certs/identity.ts';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { isUntrustedServerChain } from '../../broker/api/call.ts';
import { CLUSTER_ID_RULE } from '../../broker/api/names.ts';
import { clusterIdSchema, tokenSchema } from '../../broker/api/types.ts';
import { BrokerClient } from '../broker-client/broker-client.ts';
import { AgentError } from '../errors.ts';
import type { IdentityStore, StoredIdentity } from '../identity/identity-store.ts';
import { renewIdentity } from '../identity/renew-identity.ts';

export interface JoinOptions {
  brokerUrl: string;
  token: string;
  clusterId: string;
  /** sha256:<hex> of the broker root, as printed by `plexus broker token create`. */
  caFingerprint: string;
  store: IdentityStore;
  now: () => Date;
  keyAlgorithm?: KeyAlgorithm;
  /** Join again even when a valid identity is stored. */
  force?: boolean;
}

export interface JoinResult {
  status: 'joined' | 'already-joined' | 'renewed';
  identity: StoredIdentity;
  location: string;
}

const fingerprintPattern = /^sha256:[0-9a-f]{64}$/;

function validate(o: JoinOptions): void {
  const problems: string[] = [];
  if (!clusterIdSchema.safeParse(o.clusterId).success) problems.push(`cluster ID "${o.clusterId}" must be ${CLUSTER_ID_RULE}`);
  if (!tokenSchema.safeParse(o.token).success) problems.push('token is malformed (expected plx1.<id>.<secret>, as printed by `plexus broker token create`)');
  if (!fingerprintPattern.test(o.caFingerprint)) problems.push(`CA fingerprint "${o.caFingerprint}" must look like sha256:<64 lowercase hex digits>`);
  if (problems.length) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', problems.join('; '));
}

/** The broker's answers that mean the stored identity can never renew: join with the token instead. */
const RENEWAL_REFUSED = new Set(['PLX_BROKER_CERT_EXPIRED', 'PLX_BROKER_CLUSTER_REVOKED', 'PLX_BROKER_CERT_SUPERSEDED']);

/** Renews an expired stored identity over mTLS with itself; undefined when the broker refuses for good. */
async function renewExpired(existing: StoredIdentity, o: JoinOptions): Promise<StoredIdentity | undefined> {
  const client = new BrokerClient({ baseUrl: o.brokerUrl, trustBundle: existing.trustBundle, clientCert: { certPem: existing.certPem, keyPem: existing.keyPem } });
  try {
    return await renewIdentity(existing, (body) => client.renew(body), o.now());
  } catch (e) {
    if (e instanceof AgentError && e.brokerCode !== undefined && RENEWAL_REFUSED.has(e.brokerCode)) return undefined;
    throw e;
  } finally {
    await client.close();
  }
}

export async function joinClusterset(o: JoinOptions): Promise<JoinResult> {
  validate(o);
  const existing = await o.store.load();
  if (existing && !o.force) {
    if (existing.clusterId !== o.clusterId) {
      throw new AgentError('PLX_AGENT_ALREADY_JOINED', `${o.store.location} already holds the identity of cluster "${existing.clusterId}"; pass --force to replace it`);
    }
    if (new Date(existing.notAfter) > o.now()) return { status: 'already-joined', identity: existing, location: o.store.location };
    const renewed = await renewExpired(existing, o);
    if (renewed) {
      await o.store.save(renewed);
      return { status: 'renewed', identity: renewed, location: o.store.location };
    }
  }

  // The token works once: prove the identity can be stored before spending it.
  await o.store.preflight();
  const pin = await fetchPinnedRoot(o.brokerUrl, o.caFingerprint);
  // Only the pinned root verifies the broker on the connection that carries the token.
  const client = new BrokerClient({ baseUrl: o.brokerUrl, trustBundle: pin.toPem() });
  try {
    const clusterset = await confirmPinned(client, o.brokerUrl, o.caFingerprint);
    const expected: Identity = { trustDomain: clusterset, kind: 'cluster', name: o.clusterId };
    const keys = await generateKeyPair(o.keyAlgorithm ?? 'P-256');
    const csr = await createCsr({ keys, commonName: o.clusterId, identity: expected });
    const res = await client.join({ token: o.token, csr });
    // The returned bundle came over the pinned connection: the broker vouches for its roots.
    if (!TrustBundle.fromPem(res.trustBundle).has(o.caFingerprint)) throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', 'the trust bundle returned by join no longer contains the pinned root');
    // The issued certificate must chain to the pinned root itself, not to another root of that bundle.
    const leaf = await verifyLeaf({ certPem: res.certificate, bundle: pin, now: o.now(), usage: 'clientAuth', trustDomain: expected.trustDomain })
      .catch((e: unknown) => { throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', `the certificate issued by join does not chain to the pinned root ${o.caFingerprint}`, { cause: e }); });
    if (!leaf.identity || !sameIdentity(leaf.identity, expected) || !sameIdentity(parseIdentity(res.identity), expected)) {
      throw new AgentError('PLX_AGENT_IDENTITY_MISMATCH', `broker issued ${res.identity}, expected ${formatIdentity(expected)}`);
    }
    const identity: StoredIdentity = {
      clusterId: o.clusterId,
      identity: formatIdentity(expected),
      brokerUrl: new URL(o.brokerUrl).origin,
      certPem: res.certificate,
      keyPem: await exportPrivateKeyPem(keys.privateKey),
      trustBundle: res.trustBundle,
      notAfter: leaf.notAfter.toISOString(),
    };
    await o.store.save(identity);
    return { status: 'joined', identity, location: o.store.location };
  } finally {
    await client.close();
  }
}

/**
 * First contact: the bundle is fetched without verifying the server, and only the root
 * whose fingerprint is pinned is taken from it (the fingerprint authenticates those bytes;
 * the other roots and the server's certificate authenticate nothing yet).
 */
async function fetchPinnedRoot(brokerUrl: string, fingerprint: string): Promise<TrustBundle> {
  const bootstrap = new BrokerClient({ baseUrl: brokerUrl });
  try {
    const bundle = TrustBundle.fromPem((await bootstrap.trustBundle()).trustBundle);
    const pin = bundle.only(fingerprint);
    if (!pin) {
      const seen = bundle.roots.map((r) => fingerprintSha256(r)).join(', ');
      throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', `broker at ${brokerUrl} does not present the pinned root ${fingerprint} (it offers ${seen}); refusing to send the token`);
    }
    return pin;
  } finally {
    await bootstrap.close();
  }
}

/**
 * Before the token goes anywhere: a call over the pinned client proves the server answers
 * from a certificate of the pinned root (a man in the middle that added its own root to the
 * bundle fails here), and gives the clusterset name from the authenticated broker.
 */
async function confirmPinned(client: BrokerClient, brokerUrl: string, fingerprint: string): Promise<string> {
  try {
    return (await client.trustBundle()).clusterset;
  } catch (e) {
    if (e instanceof AgentError && isUntrustedServerChain(e.cause)) {
      throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', `broker at ${brokerUrl} serves TLS from a certificate that does not chain to the pinned root ${fingerprint}; refusing to send the token`, { cause: e });
    }
    throw e;
  }
}
