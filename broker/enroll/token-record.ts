// Join and invitation tokens as the store keeps them, and the state a token is in at a
// given time. Its own module so that store.ts (the Store interface) and user-store.ts
// (invitations mint user tokens) both depend on it instead of on each other.
export type TokenKind = 'cluster' | 'user';
export type TokenState = 'pending' | 'used' | 'expired' | 'revoked';

export interface TokenRecord {
  readonly id: string;
  readonly kind: TokenKind;
  /** The identity name the token may enroll (a cluster ID for kind "cluster"). */
  readonly subject: string;
  /** SHA-256 of the token secret; the secret itself is never stored. */
  readonly secretHash: Uint8Array;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
}

export function tokenState(t: TokenRecord, now: Date): TokenState {
  if (t.revokedAt) return 'revoked';
  if (t.usedAt) return 'used';
  if (now.getTime() >= t.expiresAt.getTime()) return 'expired';
  return 'pending';
}
