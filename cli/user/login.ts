// `plexus login`: pin the broker's root by fingerprint, make a key here (it never leaves),
// send only a CSR with the one-time token over TLS verified against the pinned root alone,
// check that the certificate chains to that root, store it. `--renew` trades a CSR signed by the same key for a fresh certificate over mTLS
// with the current one; a revoked person gets PLX_BROKER_USER_REVOKED.
import { createPublicKey } from 'node:crypto';
import { createCsr } from '../../certs/csr.ts';
import { parseIdentity, sameIdentity } from '../../certs/identity.ts';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem } from '../../certs/keys.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import { isUntrustedServerChain } from '../../broker/api/call.ts';
import { tokenSchema } from '../../broker/api/types.ts';
import type { UserIdentityResponse } from '../../broker/api/users.ts';
import { configDirLayout, loadIdentity, saveIdentity, type StoredUserIdentity } from './config-dir.ts';
import { UserBrokerClient } from './user-broker-client.ts';
import { UserCliError } from './user-error.ts';

export interface LoginOptions {
  readonly broker: string;
  readonly token: string;
  readonly caFingerprint: string;
  readonly configDir: string;
  readonly now: () => Date;
}

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;

/**
 * First contact: the bundle is fetched without verifying the server, and only the root
 * whose fingerprint is pinned is taken from it; the other roots authenticate nothing.
 */
async function pinnedRoot(broker: string, fingerprint: string): Promise<TrustBundle> {
  const bootstrap = new UserBrokerClient({ baseUrl: broker });
  try {
    const bundle = TrustBundle.fromPem((await bootstrap.trustBundle()).trustBundle);
    const pin = bundle.only(fingerprint);
    if (!pin) {
      const seen = bundle.roots.map((r) => fingerprintSha256(r)).join(', ');
      throw new UserCliError('PLX_USER_CA_PIN_MISMATCH', `broker at ${broker} does not present the pinned root ${fingerprint} (it offers ${seen}); refusing to send the token`);
    }
    return pin;
  } finally {
    await bootstrap.close();
  }
}

/** Proves, before the token leaves, that the broker serves TLS from the pinned root; returns its clusterset. */
async function confirmPinned(client: UserBrokerClient, broker: string, fingerprint: string): Promise<string> {
  try {
    return (await client.trustBundle()).clusterset;
  } catch (e) {
    if (e instanceof UserCliError && isUntrustedServerChain(e.cause)) {
      throw new UserCliError('PLX_USER_CA_PIN_MISMATCH', `broker at ${broker} serves TLS from a certificate that does not chain to the pinned root ${fingerprint}; refusing to send the token`, { cause: e });
    }
    throw e;
  }
}

/**
 * Checks what the broker issued before anything is stored. The returned bundle came over a
 * connection verified against roots already trusted, so the broker vouches for it; the
 * certificate must chain to `chainTo` (at login: the pinned root alone).
 */
async function checked(res: UserIdentityResponse, clusterset: string, fingerprint: string, chainTo: 'pin' | 'bundle', now: Date): Promise<{ notAfter: Date }> {
  const bundle = TrustBundle.fromPem(res.trustBundle);
  const pin = bundle.only(fingerprint);
  if (!pin) throw new UserCliError('PLX_USER_CA_PIN_MISMATCH', 'the returned trust bundle no longer contains the pinned root');
  const leaf = await verifyLeaf({ certPem: res.certificate, bundle: chainTo === 'pin' ? pin : bundle, now, usage: 'clientAuth', trustDomain: clusterset })
    .catch((e: unknown) => { throw new UserCliError('PLX_USER_CA_PIN_MISMATCH', `the issued certificate does not chain to the ${chainTo === 'pin' ? `pinned root ${fingerprint}` : 'returned trust bundle'}`, { cause: e }); });
  const expected = { trustDomain: clusterset, kind: 'user' as const, name: res.name };
  if (!leaf.identity || !sameIdentity(leaf.identity, expected) || !sameIdentity(parseIdentity(res.identity), expected)) {
    throw new UserCliError('PLX_USER_IDENTITY_MISMATCH', `broker issued ${res.identity}, not a user identity of ${clusterset}`);
  }
  return { notAfter: leaf.notAfter };
}

function toStored(res: UserIdentityResponse, broker: string, caFingerprint: string, keyPem: string, notAfter: Date): StoredUserIdentity {
  return {
    keyPem, certPem: res.certificate, caPem: res.trustBundle,
    profile: { broker, clusterset: res.clusterset, name: res.name, groups: res.groups, identity: res.identity, notAfter: notAfter.toISOString(), caFingerprint },
  };
}

export async function login(o: LoginOptions): Promise<StoredUserIdentity> {
  if (!tokenSchema.safeParse(o.token).success) throw new UserCliError('PLX_USER_BAD_ARGUMENT', 'token is malformed (expected plx1.<id>.<secret>, as printed by `plexus broker user invite`)');
  if (!FINGERPRINT.test(o.caFingerprint)) throw new UserCliError('PLX_USER_BAD_ARGUMENT', `CA fingerprint "${o.caFingerprint}" must look like sha256:<64 lowercase hex digits>`);
  const broker = new URL(o.broker).origin;
  const pin = await pinnedRoot(broker, o.caFingerprint);
  // Only the pinned root verifies the broker on the connection that carries the token.
  const client = new UserBrokerClient({ baseUrl: broker, caPem: pin.toPem() });
  try {
    const clusterset = await confirmPinned(client, broker, o.caFingerprint);
    const keys = await generateKeyPair('P-256');
    // The broker names the certificate from the invitation; the CSR proves the key.
    const csr = await createCsr({ keys, commonName: 'plexus-login' });
    const res = await client.login({ token: o.token, csr });
    const { notAfter } = await checked(res, clusterset, o.caFingerprint, 'pin', o.now());
    const stored = toStored(res, broker, o.caFingerprint, await exportPrivateKeyPem(keys.privateKey), notAfter);
    saveIdentity(configDirLayout(o.configDir), stored);
    return stored;
  } finally {
    await client.close();
  }
}

/**
 * The pinned root after a renewal. A CA rollover (broker/ca/) eventually removes the root
 * pinned at login; the pin then moves to a root the returned bundle shares with the one
 * trusted now (the answer came over TLS verified with it). No shared root: no trust jump.
 */
function followPin(current: StoredUserIdentity, returnedPem: string): string {
  const returned = TrustBundle.fromPem(returnedPem);
  if (returned.has(current.profile.caFingerprint)) return current.profile.caFingerprint;
  const trusted = TrustBundle.fromPem(current.caPem);
  const shared = returned.fingerprints().filter((f) => trusted.has(f));
  if (shared.length === 0) throw new UserCliError('PLX_USER_CA_PIN_MISMATCH', 'the returned trust bundle shares no root with the one trusted now; log in again');
  return shared[shared.length - 1]!;
}

export async function renew(o: { configDir: string; now: () => Date }): Promise<StoredUserIdentity> {
  const layout = configDirLayout(o.configDir);
  const current = loadIdentity(layout);
  const privateKey = await importPrivateKeyPem(current.keyPem);
  // The same key signs the renewal CSR: kubeconfigs keep pointing at one key file.
  const spki = createPublicKey(current.keyPem).export({ type: 'spki', format: 'der' });
  const publicKey = await globalThis.crypto.subtle.importKey('spki', spki, privateKey.algorithm, true, ['verify']);
  const csr = await createCsr({ keys: { privateKey, publicKey }, commonName: current.profile.name });
  const client = new UserBrokerClient({ baseUrl: current.profile.broker, caPem: current.caPem, clientCert: { certPem: current.certPem, keyPem: current.keyPem } });
  try {
    const res = await client.renew({ csr });
    const pin = followPin(current, res.trustBundle);
    const { notAfter } = await checked(res, current.profile.clusterset, pin, 'bundle', o.now());
    const stored = toStored(res, current.profile.broker, pin, current.keyPem, notAfter);
    saveIdentity(layout, stored);
    return stored;
  } finally {
    await client.close();
  }
}
