// POST /v1/users/login (one-time token + CSR) and POST /v1/users/renew (current
// certificate + CSR). Everything that can fail is checked before the single store
// operation (completeLogin), which re-checks the token: of two logins with one token exactly one wins.
import { formatIdentity } from '../../certs/identity.ts';
import type { UserIdentityResponse, UserLoginRequest, UserRenewRequest } from '../api/users.ts';
import type { Clock } from '../clock.ts';
import { readCsrOrRefuse } from '../enroll/read-csr.ts';
import { parseToken, tokenSecretMatches } from '../enroll/token.ts';
import { BrokerError } from '../errors.ts';
import type { TokenStore } from '../enroll/enroll-store.ts';
import type { UserStore } from './user-store.ts';
import { tokenState } from '../enroll/token-record.ts';
import type { IssuedUserCertificate, UserIssuer } from './user-issuer.ts';

/** Login reads the invitation token and writes the user. */
export interface LoginStore extends Pick<TokenStore, 'getToken'> {
  readonly users: UserStore;
}

export interface UserLoginDeps {
  readonly store: LoginStore;
  readonly issuer: UserIssuer;
  readonly clock: Clock;
  readonly trustBundlePem: () => string;
}

const stateCodes = { used: 'PLX_BROKER_TOKEN_USED', expired: 'PLX_BROKER_TOKEN_EXPIRED', revoked: 'PLX_BROKER_TOKEN_REVOKED' } as const;

async function pendingUserToken(store: LoginStore, presented: string, now: Date) {
  const { id, secret } = parseToken(presented);
  const token = await store.getToken(id);
  if (!token || token.kind !== 'user' || !tokenSecretMatches(secret, token.secretHash)) {
    throw new BrokerError('PLX_BROKER_TOKEN_INVALID', 'unknown login token');
  }
  const state = tokenState(token, now);
  if (state !== 'pending') throw new BrokerError(stateCodes[state], `login token ${token.id} is ${state}`);
  return token;
}

function revoked(name: string): BrokerError {
  return new BrokerError('PLX_BROKER_USER_REVOKED', `user "${name}" is revoked`);
}

function response(deps: UserLoginDeps, name: string, groups: readonly string[], issued: IssuedUserCertificate): UserIdentityResponse {
  return {
    name, groups: [...groups], clusterset: deps.issuer.clusterset, identity: formatIdentity(issued.identity),
    certificate: issued.certPem, trustBundle: deps.trustBundlePem(), notAfter: issued.notAfter.toISOString(),
  };
}

export async function loginUser(deps: UserLoginDeps, req: UserLoginRequest): Promise<UserIdentityResponse> {
  const { store, issuer, clock } = deps;
  const token = await pendingUserToken(store, req.token, clock.now());
  const name = token.subject;
  if ((await store.users.get(name))?.state === 'revoked') throw revoked(name);
  const groups = (await store.users.inviteGroups(token.id)) ?? [];
  const csr = await readCsrOrRefuse(req.csr);
  const now = clock.now();
  const issued = await issuer.issue(csr, name, groups, now);
  const result = await store.users.completeLogin({ tokenId: token.id, name, now });
  if (!result.ok) {
    if (result.reason === 'revoked') throw revoked(name);
    await pendingUserToken(store, req.token, now);
    throw new BrokerError('PLX_BROKER_TOKEN_USED', `login token ${token.id} is used`);
  }
  return response(deps, name, result.user.groups, issued);
}

/** The caller was authenticated as an active user; revocation in between still wins. */
export async function renewUser(deps: UserLoginDeps, name: string, req: UserRenewRequest): Promise<UserIdentityResponse> {
  const { store, issuer, clock } = deps;
  const csr = await readCsrOrRefuse(req.csr);
  const user = await store.users.get(name);
  if (!user || user.state !== 'active') throw revoked(name);
  const issued = await issuer.issue(csr, name, user.groups, clock.now());
  if ((await store.users.get(name))?.state !== 'active') throw revoked(name);
  return response(deps, name, user.groups, issued);
}
