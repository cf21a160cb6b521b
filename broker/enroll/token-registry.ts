// Admin operations on join tokens: mint, list, revoke. Tokens are bound to one cluster ID
// and short-lived; minting one for a cluster that is already an active member is refused,
// because a cluster ID is unique while it is a member (remove it first to re-enroll).
import { createTokenRequestSchema, type CreateTokenRequest, type CreateTokenResponse, type TokenInfo } from '../api/types.ts';
import type { Clock } from '../clock.ts';
import { BrokerError } from '../errors.ts';
import type { TokenStore } from './enroll-store.ts';
import { tokenState, type TokenKind, type TokenRecord } from './token-record.ts';
import { generateToken } from './token.ts';

export interface TokenRegistryDeps {
  readonly store: Omit<TokenStore, 'getToken'>;
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

/** A fresh one-time token record for `subject`; the caller stores it (the store refuses a taken id). */
export function mintToken(o: { kind: TokenKind; subject: string; ttlSeconds: number; now: Date }): { token: string; record: TokenRecord } {
  const g = generateToken();
  const record: TokenRecord = {
    id: g.id, kind: o.kind, subject: o.subject, secretHash: g.secretHash,
    createdAt: o.now, expiresAt: new Date(o.now.getTime() + o.ttlSeconds * 1000), usedAt: null, revokedAt: null,
  };
  return { token: g.token, record };
}

/**
 * Mints and stores a token through `add`, one conditional store operation per attempt.
 * Ids are 8 random characters from 36: collisions are rare but possible, so a taken id
 * (the store says so; no separate look-up that another replica could race) is retried.
 */
export async function addMintedToken<R extends string>(
  add: (record: TokenRecord) => Promise<R | 'id-taken'>,
  o: { kind: TokenKind; subject: string; ttlSeconds: number; now: Date },
): Promise<{ token: string; record: TokenRecord; result: R }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const minted = mintToken(o);
    const result = await add(minted.record);
    if (result !== 'id-taken') return { ...minted, result: result as R };
  }
  throw new BrokerError('PLX_BROKER_INTERNAL', 'could not allocate a unique token id');
}

export class TokenRegistry {
  readonly #deps: TokenRegistryDeps;

  constructor(deps: TokenRegistryDeps) {
    this.#deps = deps;
  }

  /** The active-member check and the write are one store operation: a join landing in between cannot slip past it. */
  async create(input: CreateTokenRequest): Promise<CreateTokenResponse> {
    const req = createTokenRequestSchema.parse(input);
    const { store, clock, caFingerprint } = this.#deps;
    const now = clock.now();
    const { token, record, result } = await addMintedToken((r) => store.addToken(r), { kind: 'cluster', subject: req.cluster, ttlSeconds: req.ttlSeconds, now });
    if (result === 'cluster-active') {
      throw new BrokerError('PLX_BROKER_CONFLICT', `cluster "${req.cluster}" is already an active member; remove it before issuing a new join token`);
    }
    return { token, info: toTokenInfo(record, now), caFingerprint };
  }

  async list(): Promise<TokenInfo[]> {
    const now = this.#deps.clock.now();
    return (await this.#deps.store.listTokens()).map((t) => toTokenInfo(t, now));
  }

  /** Idempotent: revoking a revoked (or used) token returns it unchanged. Unknown id is NOT_FOUND. */
  async revoke(id: string): Promise<TokenInfo> {
    const now = this.#deps.clock.now();
    const t = await this.#deps.store.revokeToken(id, now);
    if (!t) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no token with id "${id}"`);
    return toTokenInfo(t, now);
  }
}
