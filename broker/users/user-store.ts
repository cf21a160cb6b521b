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
  get(name: string): Promise<UserRecord | undefined>;
  list(): Promise<UserRecord[]>;
  listRevoked(): Promise<UserRecord[]>;
  /**
   * Atomically: the user (if new) and a kind-"user" token bound to these groups, only if the
   * name is not revoked and no token has the token's id; otherwise nothing is written.
   */
  invite(o: { token: TokenRecord; groups: readonly string[]; now: Date }): Promise<'ok' | 'revoked' | 'id-taken'>;
  /** Groups the invitation token was minted with. */
  inviteGroups(tokenId: string): Promise<string[] | undefined>;
  /** Atomically: consume the (still pending) token and make the user active with its groups. */
  completeLogin(o: { tokenId: string; name: string; now: Date }): Promise<UserLoginResult>;
  /**
   * Marks the user revoked and revokes its pending tokens, atomically; undefined if unknown.
   * `revokedNow` is true only for the call that made the change (of two racing revocations,
   * exactly one), so the revocation is announced once.
   */
  revoke(name: string, at: Date): Promise<{ readonly user: UserRecord; readonly revokedNow: boolean } | undefined>;
}
