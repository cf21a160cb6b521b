// Enrolls this cluster with the broker: pin the broker's root by fingerprint, make a key
// here (it never leaves), send only a CSR with the one-time token, check what comes back,
// then store the identity. Re-running with a valid identity for the same cluster is a no-op.
import { createCsr } from '../../certs/csr.ts';
import { formatIdentity, parseIdentity, sameIdentity, type Identity } from '../../certs/identity.ts';
import { exportPrivateKeyPem, generateKeyPair, type KeyAlgorithm } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { clusterIdSchema, tokenSchema } from '../../broker/api/types.ts';
import { BrokerClient } from '../broker-client/broker-client.ts';
import { AgentError } from '../errors.ts';
import type { IdentityStore, StoredIdentity } from '../identity/identity-store.ts';

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
  status: 'joined' | 'already-joined';
  identity: StoredIdentity;
  location: string;
}

const fingerprintPattern = /^sha256:[0-9a-f]{64}$/;

function validate(o: JoinOptions): void {
  const problems: string[] = [];
  if (!clusterIdSchema.safeParse(o.clusterId).success) problems.push(`cluster ID "${o.clusterId}" must be an RFC-1123 label (lowercase alphanumerics and "-", at most 63 characters)`);
  if (!tokenSchema.safeParse(o.token).success) problems.push('token is malformed (expected plx1.<id>.<secret>, as printed by `plexus broker token create`)');
  if (!fingerprintPattern.test(o.caFingerprint)) problems.push(`CA fingerprint "${o.caFingerprint}" must look like sha256:<64 lowercase hex digits>`);
  if (problems.length) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', problems.join('; '));
}

export async function joinClusterset(o: JoinOptions): Promise<JoinResult> {
  validate(o);
  const existing = await o.store.load();
  if (existing && !o.force) {
    if (existing.clusterId !== o.clusterId) {
      throw new AgentError('PLX_AGENT_ALREADY_JOINED', `${o.store.location} already holds the identity of cluster "${existing.clusterId}"; pass --force to replace it`);
    }
    if (new Date(existing.notAfter) > o.now()) return { status: 'already-joined', identity: existing, location: o.store.location };
  }

  // The token works once: prove the identity can be stored before spending it.
  await o.store.preflight();
  const pinned = await fetchPinnedBundle(o.brokerUrl, o.caFingerprint);
  const expected: Identity = { trustDomain: pinned.clusterset, kind: 'cluster', name: o.clusterId };
  const keys = await generateKeyPair(o.keyAlgorithm ?? 'P-256');
  const csr = await createCsr({ keys, commonName: o.clusterId, identity: expected });

  const client = new BrokerClient({ baseUrl: o.brokerUrl, trustBundle: pinned.bundle.toPem() });
  try {
    const res = await client.join({ token: o.token, csr });
    const bundle = TrustBundle.fromPem(res.trustBundle);
    if (!bundle.has(o.caFingerprint)) throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', 'the trust bundle returned by join no longer contains the pinned root');
    const leaf = await verifyLeaf({ certPem: res.certificate, bundle, now: o.now(), usage: 'clientAuth', trustDomain: expected.trustDomain });
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
 * First contact: the bundle is fetched without verifying the server, then accepted only
 * if it holds the pinned root. Everything after (the token included) travels over a
 * connection verified against that bundle, so an interceptor learns nothing.
 */
async function fetchPinnedBundle(brokerUrl: string, fingerprint: string): Promise<{ clusterset: string; bundle: TrustBundle }> {
  const bootstrap = new BrokerClient({ baseUrl: brokerUrl });
  try {
    const res = await bootstrap.trustBundle();
    const bundle = TrustBundle.fromPem(res.trustBundle);
    if (!bundle.has(fingerprint)) {
      const seen = bundle.roots.map((r) => fingerprintSha256(r)).join(', ');
      throw new AgentError('PLX_AGENT_CA_PIN_MISMATCH', `broker at ${brokerUrl} does not present the pinned root ${fingerprint} (it offers ${seen}); refusing to send the token`);
    }
    return { clusterset: res.clusterset, bundle };
  } finally {
    await bootstrap.close();
  }
}
