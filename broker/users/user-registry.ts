// Admin operations on people: invite (a one-time token bound to a name and groups), list,
// revoke. Revocation is final for a name and takes effect on the broker's next request
// (authentication reads the store every time) and, through `onRevoked`, on every agent.
import { inviteUserRequestSchema, type InviteUserRequest, type InviteUserResponse, type UserInfo } from '../api/users.ts';
import type { Clock } from '../clock.ts';
import { addMintedToken, toTokenInfo } from '../enroll/token-registry.ts';
import { BrokerError } from '../errors.ts';
import type { UserRecord, UserStore } from './user-store.ts';

export interface UserRegistryDeps {
  readonly store: { readonly users: UserStore };
  readonly clock: Clock;
  readonly caFingerprint: string;
  /** Runs after a user becomes revoked (not on repeats): the catalog announces it to agents. */
  readonly onRevoked?: ((user: UserRecord) => unknown) | undefined;
}

export function toUserInfo(u: UserRecord): UserInfo {
  return { name: u.name, groups: [...u.groups], state: u.state, createdAt: u.createdAt.toISOString(), revokedAt: u.revokedAt?.toISOString() ?? null };
}

export class UserRegistry {
  readonly #deps: UserRegistryDeps;

  constructor(deps: UserRegistryDeps) {
    this.#deps = deps;
  }

  async invite(input: InviteUserRequest): Promise<InviteUserResponse> {
    const req = inviteUserRequestSchema.parse(input);
    const { store, clock, caFingerprint } = this.#deps;
    const groups = [...new Set(req.groups)].sort();
    const now = clock.now();
    const { token, record, result } = await addMintedToken((r) => store.users.invite({ token: r, groups, now }), { kind: 'user', subject: req.name, ttlSeconds: req.ttlSeconds, now });
    if (result === 'revoked') {
      throw new BrokerError('PLX_BROKER_CONFLICT', `user "${req.name}" is revoked; revocation is final, invite a new name`);
    }
    return { token, info: toTokenInfo(record, now), name: req.name, groups, caFingerprint };
  }

  async list(): Promise<UserInfo[]> {
    return (await this.#deps.store.users.list()).map(toUserInfo);
  }

  /** Idempotent for known users; an unknown name is PLX_BROKER_NOT_FOUND (likely a typo). */
  async revoke(name: string): Promise<UserInfo> {
    // One store operation says whether this call made the change: of two racing
    // revocations exactly one announces it (no read-before-write to race on).
    const result = await this.#deps.store.users.revoke(name, this.#deps.clock.now());
    if (!result) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no user "${name}"`);
    if (result.revokedNow) await this.#deps.onRevoked?.(result.user);
    return toUserInfo(result.user);
  }
}
