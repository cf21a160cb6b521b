// Admin operations on people: invite (a one-time token bound to a name and groups), list,
// revoke. Revocation is final for a name and takes effect on the broker's next request
// (authentication reads the store every time) and, through `onRevoked`, on every agent.
import { inviteUserRequestSchema, type InviteUserRequest, type InviteUserResponse, type UserInfo } from '../api/users.ts';
import type { Clock } from '../clock.ts';
import { mintToken, toTokenInfo } from '../enroll/token-registry.ts';
import { BrokerError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { UserRecord } from './user-store.ts';

export interface UserRegistryDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly caFingerprint: string;
  /** Runs after a user becomes revoked (not on repeats): the catalog announces it to agents. */
  readonly onRevoked?: ((user: UserRecord) => void) | undefined;
}

export function toUserInfo(u: UserRecord): UserInfo {
  return { name: u.name, groups: [...u.groups], state: u.state, createdAt: u.createdAt.toISOString(), revokedAt: u.revokedAt?.toISOString() ?? null };
}

export class UserRegistry {
  readonly #deps: UserRegistryDeps;

  constructor(deps: UserRegistryDeps) {
    this.#deps = deps;
  }

  invite(input: InviteUserRequest): InviteUserResponse {
    const req = inviteUserRequestSchema.parse(input);
    const { store, clock, caFingerprint } = this.#deps;
    const groups = [...new Set(req.groups)].sort();
    const now = clock.now();
    const { token, record } = mintToken(store, { kind: 'user', subject: req.name, ttlSeconds: req.ttlSeconds, now });
    if (store.users.invite({ token: record, groups, now }) === 'revoked') {
      throw new BrokerError('PLX_BROKER_CONFLICT', `user "${req.name}" is revoked; revocation is final, invite a new name`);
    }
    return { token, info: toTokenInfo(record, now), name: req.name, groups, caFingerprint };
  }

  list(): UserInfo[] {
    return this.#deps.store.users.list().map(toUserInfo);
  }

  /** Idempotent for known users; an unknown name is PLX_BROKER_NOT_FOUND (likely a typo). */
  revoke(name: string): UserInfo {
    const before = this.#deps.store.users.get(name);
    const after = this.#deps.store.users.revoke(name, this.#deps.clock.now());
    if (!before || !after) throw new BrokerError('PLX_BROKER_NOT_FOUND', `no user "${name}"`);
    if (before.state !== 'revoked') this.#deps.onRevoked?.(after);
    return toUserInfo(after);
  }
}
