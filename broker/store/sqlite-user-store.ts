// UserStore on the broker's sqlite database (shares SqliteStore's connection: WAL,
// synchronous=FULL). Tables from migration 5: users, user_invites.
import { immediateTransaction } from './transaction.ts';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { toTokenRecord } from './sqlite-token-row.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';
import type { UserLoginResult, UserRecord, UserState, UserStore } from '../users/user-store.ts';

type Row = Record<string, unknown>;

function toUser(r: Row): UserRecord {
  return {
    name: String(r.name),
    groups: JSON.parse(String(r.groups)) as string[],
    state: r.state as UserState,
    createdAt: new Date(Number(r.created_at)),
    revokedAt: r.revoked_at === null || r.revoked_at === undefined ? null : new Date(Number(r.revoked_at)),
  };
}

export class SqliteUserStore implements UserStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      get: db.prepare('SELECT * FROM users WHERE name = ?'),
      list: db.prepare('SELECT * FROM users ORDER BY name'),
      listRevoked: db.prepare(`SELECT * FROM users WHERE state = 'revoked' ORDER BY name`),
      insertUser: db.prepare(`INSERT INTO users (name, groups, state, created_at, revoked_at) VALUES (?, ?, 'invited', ?, NULL)
        ON CONFLICT (name) DO NOTHING`),
      insertToken: db.prepare(`INSERT INTO tokens (id, kind, subject, secret_hash, created_at, expires_at, used_at, revoked_at)
        VALUES (?, 'user', ?, ?, ?, ?, NULL, NULL)`),
      insertInvite: db.prepare('INSERT INTO user_invites (token_id, groups) VALUES (?, ?)'),
      inviteGroups: db.prepare('SELECT groups FROM user_invites WHERE token_id = ?'),
      getToken: db.prepare('SELECT * FROM tokens WHERE id = ?'),
      useToken: db.prepare('UPDATE tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL'),
      activate: db.prepare(`UPDATE users SET state = 'active', groups = ? WHERE name = ? AND state != 'revoked'`),
      revoke: db.prepare(`UPDATE users SET state = 'revoked', revoked_at = ? WHERE name = ? AND state != 'revoked'`),
      revokeTokens: db.prepare(`UPDATE tokens SET revoked_at = ?
        WHERE kind = 'user' AND subject = ? AND used_at IS NULL AND revoked_at IS NULL`),
    };
  }

  #tx<T>(fn: () => T): T {
    return immediateTransaction(this.#db, fn);
  }


  async get(name: string): Promise<UserRecord | undefined> {
    return this.#get(name);
  }

  #get(name: string): UserRecord | undefined {
    const r = this.#s.get!.get(name);
    return r ? toUser(r) : undefined;
  }

  async list(): Promise<UserRecord[]> {
    return this.#s.list!.all().map(toUser);
  }

  async listRevoked(): Promise<UserRecord[]> {
    return this.#s.listRevoked!.all().map(toUser);
  }

  async invite(o: { token: TokenRecord; groups: readonly string[]; now: Date }): Promise<'ok' | 'revoked' | 'id-taken'> {
    return this.#tx(() => {
      if (this.#get(o.token.subject)?.state === 'revoked') return 'revoked';
      if (this.#s.getToken!.get(o.token.id)) return 'id-taken';
      const groups = JSON.stringify(o.groups);
      this.#s.insertUser!.run(o.token.subject, groups, o.now.getTime());
      this.#s.insertToken!.run(o.token.id, o.token.subject, o.token.secretHash, o.token.createdAt.getTime(), o.token.expiresAt.getTime());
      this.#s.insertInvite!.run(o.token.id, groups);
      return 'ok';
    });
  }

  async inviteGroups(tokenId: string): Promise<string[] | undefined> {
    return this.#inviteGroups(tokenId);
  }

  #inviteGroups(tokenId: string): string[] | undefined {
    const r = this.#s.inviteGroups!.get(tokenId);
    return r ? (JSON.parse(String(r.groups)) as string[]) : undefined;
  }

  async completeLogin(o: { tokenId: string; name: string; now: Date }): Promise<UserLoginResult> {
    return this.#tx((): UserLoginResult => {
      const row = this.#s.getToken!.get(o.tokenId);
      if (!row || tokenState(toTokenRecord(row), o.now) !== 'pending') return { ok: false, reason: 'token-not-pending' };
      const state = this.#get(o.name)?.state;
      if (state !== 'invited' && state !== 'active') return { ok: false, reason: 'revoked' };
      this.#s.useToken!.run(o.now.getTime(), o.tokenId);
      this.#s.activate!.run(JSON.stringify(this.#inviteGroups(o.tokenId) ?? []), o.name);
      return { ok: true, user: this.#get(o.name)! };
    });
  }

  async revoke(name: string, at: Date): Promise<{ user: UserRecord; revokedNow: boolean } | undefined> {
    return this.#tx(() => {
      if (!this.#get(name)) return undefined;
      const revokedNow = Number(this.#s.revoke!.run(at.getTime(), name).changes) > 0;
      this.#s.revokeTokens!.run(at.getTime(), name);
      return { user: this.#get(name)!, revokedNow };
    });
  }
}
