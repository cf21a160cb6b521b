// Shared identities of people, as users/ needs them: who was invited with which groups,
// who logged in, who is revoked. Revocation is by name and final: a revoked name cannot
// be invited again (agents refuse it by name, so reviving it would need an un-revoke
// event every agent must see; pick a new name instead).
import type { TokenRecord } from '../enroll/token-record.ts';

export type UserState = 'invited' | 'active' | 'revoked';

export interface UserRecord {
  readonly name: string;
  /** Groups of the newest login (or of the pending invitation before the first login). */
  readonly groups: readonly string[];
  readonly state: UserState;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export type UserLoginResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: 'token-not-pending' | 'revoked' };

export interface UserStore {
  get(name: string): UserRecord | undefined;
  list(): UserRecord[];
  listRevoked(): UserRecord[];
  /** In one transaction: the user row (if new) and a kind-"user" token bound to these groups. */
  invite(o: { token: TokenRecord; groups: readonly string[]; now: Date }): 'ok' | 'revoked';
  /** Groups the invitation token was minted with. */
  inviteGroups(tokenId: string): string[] | undefined;
  /** In one transaction: consume the (still pending) token and make the user active with its groups. */
  completeLogin(o: { tokenId: string; name: string; now: Date }): UserLoginResult;
  /** Marks the user revoked (idempotent) and revokes its pending tokens; undefined if unknown. */
  revoke(name: string, at: Date): UserRecord | undefined;
}
