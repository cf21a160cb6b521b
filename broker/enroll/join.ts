// POST /v1/join: a one-time token plus a CSR become the cluster's first certificate.
// Everything that can fail is checked before the single atomic store operation
// (completeJoin), which re-checks the token, so of two concurrent joins with one token
// exactly one commits and the other sees PLX_BROKER_TOKEN_USED.
import type { IdentityResponse, JoinRequest } from '../api/types.ts';
import type { BrokerErrorCode } from '../api/errors.ts';
import { formatIdentity } from '../../certs/identity.ts';
import type { Clock } from '../clock.ts';
import { BrokerError } from '../errors.ts';
import type { EnrollStore } from './enroll-store.ts';
import { tokenState, type TokenRecord, type TokenState } from './token-record.ts';
import type { ClusterIssuer } from './cluster-issuer.ts';
import { parseToken, tokenSecretMatches } from './token.ts';

export interface EnrollDeps {
  readonly store: EnrollStore;
  readonly issuer: ClusterIssuer;
  readonly clock: Clock;
  /** PEM of the roots clusters must trust. */
  readonly trustBundlePem: () => string;
}

const tokenStateErrors: Record<Exclude<TokenState, 'pending'>, BrokerErrorCode> = {
  used: 'PLX_BROKER_TOKEN_USED',
  expired: 'PLX_BROKER_TOKEN_EXPIRED',
  revoked: 'PLX_BROKER_TOKEN_REVOKED',
};

function unusableToken(token: TokenRecord | undefined, now: Date): BrokerError {
  const state = token ? tokenState(token, now) : undefined;
  if (!state || state === 'pending') return new BrokerError('PLX_BROKER_TOKEN_INVALID', 'unknown join token');
  return new BrokerError(tokenStateErrors[state], `join token ${token!.id} is ${state}`);
}

/** Finds the token and checks its secret and state; unknown and wrong-secret look alike. */
async function pendingToken(store: EnrollStore, presented: string, now: Date): Promise<TokenRecord> {
  const { id, secret } = parseToken(presented);
  const token = await store.getToken(id);
  if (!token || token.kind !== 'cluster' || !tokenSecretMatches(secret, token.secretHash)) {
    throw new BrokerError('PLX_BROKER_TOKEN_INVALID', 'unknown join token');
  }
  if (tokenState(token, now) !== 'pending') throw unusableToken(token, now);
  return token;
}

export async function join(deps: EnrollDeps, req: JoinRequest): Promise<IdentityResponse> {
  const { store, issuer, clock } = deps;
  const token = await pendingToken(store, req.token, clock.now());
  const clusterId = token.subject;
  const csr = await issuer.readClusterCsr(req.csr, clusterId);
  // Another join may have used the token while the CSR was being verified: say so first.
  const current = await store.getToken(token.id);
  if (!current || tokenState(current, clock.now()) !== 'pending') throw unusableToken(current, clock.now());
  if ((await store.getCluster(clusterId))?.state === 'active') {
    throw new BrokerError('PLX_BROKER_CONFLICT', `cluster "${clusterId}" is already an active member`);
  }
  const now = clock.now();
  const issued = await issuer.issue(csr, clusterId, now);
  const result = await store.completeJoin({ tokenId: token.id, clusterId, certificate: issued, now });
  if (!result.ok) {
    if (result.reason === 'cluster-active') throw new BrokerError('PLX_BROKER_CONFLICT', `cluster "${clusterId}" is already an active member`);
    throw unusableToken(result.token, now);
  }
  return {
    clusterId,
    identity: formatIdentity(issued.identity),
    certificate: issued.certPem,
    trustBundle: deps.trustBundlePem(),
    notAfter: issued.notAfter.toISOString(),
  };
}
