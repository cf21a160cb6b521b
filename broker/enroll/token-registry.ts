// Admin operations on join tokens: mint, list, revoke. Tokens are bound to one cluster ID
// and short-lived; minting one for a cluster that is already an active member is refused,
// because a cluster ID is unique while it is a member (remove it first to re-enroll).
import { createTokenRequestSchema, type CreateTokenRequest, type CreateTokenResponse, type TokenInfo } from '../api/types.ts';
import type { Clock } from '../clock.ts';
import { BrokerError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { tokenState, type TokenKind, type TokenRecord } from './token-record.ts';
import { generateToken } from './token.ts';

export interface TokenRegistryDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** sha256:<hex> of the root the joining agent must pin. */
  readonly caFingerprint: string;
}

export function toTokenInfo(t: TokenRecord, now: Date): TokenInfo {
  return {
    id: t.id,
    kind: t.kind,
    subject: t.subject,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    usedAt: t.usedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    state: tokenState(t, now),
  };
}

/**
 * A fresh one-time token for `subject` whose id no stored token has yet; the caller stores
 * the record. Ids are 8 random characters from 36: collisions are rare but possible, so retry.
 */
export function mintToken(store: Pick<Store, 'getToken'>, o: { kind: TokenKind; subject: string; ttlSeconds: number; now: Date }): { token: string; record: TokenRecord } {
  for (let attempt = 0; attempt < 5; attempt++) {
    const g = generateToken();
    if (store.getToken(g.id)) continue;
    const record: TokenRecord = {
      id: g.id, kind: o.kind, subject: o.subject, secretHash: g.secretHash,
      createdAt: o.now, expiresAt: new Date(o.now.getTime() + o.ttlSeconds * 1000), usedAt: null, revokedAt: null,
    };
    return { token: g.token, record };
  }
  throw new BrokerError('PLX_BROKER_INTERNAL', 'could not allocate a unique token id');
}

export class TokenRegistry {
  readonly #deps: TokenRegistryDeps;

  constructor(deps: TokenRegistryDeps) {
    this.#deps = deps;
  }

  create(input: CreateTokenRequest): CreateTokenResponse {
    const req = createTokenRequestSchema.parse(input);
    const { store, clock, caFingerprint } = this.#deps;
    if (store.getCluster(req.cluster)?.state === 'active') {
      throw new BrokerError('PLX_BROKER_CONFLICT', `cluster "${req.cluster}" is already an active member; remove it before issuing a new join token`);
    }
    const now = clock.now();
    const { token, record } = mintToken(store, { kind: 'cluster', subject: req.cluster, ttlSeconds: req.ttlSeconds, now });
    store.insertToken(record);
    return { token, info: toTokenInfo(record, now), caFingerprint };
  }

  list(): TokenInfo[] {
    const now = this.#deps.clock.now();
    return this.#deps.store.listTokens().map((t) => toTokenInfo(t, now));
  }

  /** Idempotent: revoking a revoked (or used) token returns it unchanged. Unknown id is NOT_FOUND. */
  revoke(id: string): TokenInfo {
    const now = this.#deps.clock.now();
    const t = this.#deps.store.revokeToken(id, now);
    if (!t) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no token with id "${id}"`);
    return toTokenInfo(t, now);
  }
}
