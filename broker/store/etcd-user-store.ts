// UserStore on etcd: a person is one key (users/<name>); an invitation is a kind-"user"
// token under tokens/ carrying its groups. Every change is one compare-and-set txn
// (etcd-cas.ts) on the keys its condition reads.
import type { EtcdClient, KeyValue } from '../etcd/etcd-client.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';
import type { UserLoginResult, UserRecord, UserStore } from '../users/user-store.ts';
import { cas, put, unchanged } from './etcd-cas.ts';
import { fromTokenRecord, json, parseValue, toTokenRecord, tokenSchema, userSchema, type EtcdKeys } from './etcd-records.ts';
import type { z } from 'zod';

type StoredUser = z.output<typeof userSchema>;

const toUser = (u: StoredUser): UserRecord => ({
  name: u.name, groups: u.groups, state: u.state, createdAt: new Date(u.createdAt), revokedAt: u.revokedAt === null ? null : new Date(u.revokedAt),
});

export class EtcdUserStore implements UserStore {
  readonly #c: EtcdClient;
  readonly #k: EtcdKeys;

  constructor(client: EtcdClient, keys: EtcdKeys) {
    this.#c = client;
    this.#k = keys;
  }

  async #user(name: string): Promise<{ kv: KeyValue | undefined; u: StoredUser | undefined }> {
    const { kv } = await this.#c.get(this.#k.user(name));
    return { kv, u: kv ? parseValue(userSchema, kv) : undefined };
  }

  async #token(id: string) {
    const { kv } = await this.#c.get(this.#k.token(id));
    return { kv, t: kv ? parseValue(tokenSchema, kv) : undefined };
  }

  async get(name: string): Promise<UserRecord | undefined> {
    const { u } = await this.#user(name);
    return u ? toUser(u) : undefined;
  }

  async list(): Promise<UserRecord[]> {
    const { kvs } = await this.#c.range(this.#k.users);
    return kvs.map((kv) => toUser(parseValue(userSchema, kv)));
  }

  async listRevoked(): Promise<UserRecord[]> {
    return (await this.list()).filter((u) => u.state === 'revoked');
  }

  async invite(o: { token: TokenRecord; groups: readonly string[]; now: Date }): Promise<'ok' | 'revoked' | 'id-taken'> {
    return cas<'ok' | 'revoked' | 'id-taken'>(this.#c, 'invite', async () => {
      const name = o.token.subject;
      const { kv, u } = await this.#user(name);
      if (u?.state === 'revoked') return { done: 'revoked' as const };
      const tok = await this.#token(o.token.id);
      if (tok.kv) return { done: 'id-taken' as const };
      const user: StoredUser = u ?? { name, groups: [...o.groups], state: 'invited', createdAt: o.now.getTime(), revokedAt: null };
      return {
        compare: [unchanged(this.#k.user(name), kv), unchanged(this.#k.token(o.token.id), undefined)],
        ops: [put(this.#k.user(name), json(user)), put(this.#k.token(o.token.id), json(fromTokenRecord({ ...o.token, kind: 'user' }, o.groups)))],
        result: 'ok' as const,
      };
    });
  }

  async inviteGroups(tokenId: string): Promise<string[] | undefined> {
    const { t } = await this.#token(tokenId);
    return t?.kind === 'user' ? (t.groups ?? []) : undefined;
  }

  async completeLogin(o: { tokenId: string; name: string; now: Date }): Promise<UserLoginResult> {
    return cas<UserLoginResult>(this.#c, 'login', async () => {
      const tok = await this.#token(o.tokenId);
      if (!tok.t || tokenState(toTokenRecord(tok.t), o.now) !== 'pending') return { done: { ok: false, reason: 'token-not-pending' } as UserLoginResult };
      const { kv, u } = await this.#user(o.name);
      if (!u || (u.state !== 'invited' && u.state !== 'active')) return { done: { ok: false, reason: 'revoked' } as UserLoginResult };
      const next: StoredUser = { ...u, state: 'active', groups: tok.t.groups ?? [] };
      return {
        compare: [unchanged(this.#k.token(o.tokenId), tok.kv), unchanged(this.#k.user(o.name), kv)],
        ops: [put(this.#k.token(o.tokenId), json({ ...tok.t, usedAt: o.now.getTime() })), put(this.#k.user(o.name), json(next))],
        result: { ok: true, user: toUser(next) } as UserLoginResult,
      };
    });
  }

  async revoke(name: string, at: Date): Promise<{ user: UserRecord; revokedNow: boolean } | undefined> {
    return cas(this.#c, 'revoke user', async () => {
      const { kv, u } = await this.#user(name);
      if (!u) return { done: undefined };
      const revokedNow = u.state !== 'revoked';
      const next: StoredUser = revokedNow ? { ...u, state: 'revoked', revokedAt: at.getTime() } : u;
      const { kvs } = await this.#c.range(this.#k.tokens);
      const pending = kvs.map((t) => ({ kv: t, t: parseValue(tokenSchema, t) }))
        .filter(({ t }) => t.kind === 'user' && t.subject === name && t.usedAt === null && t.revokedAt === null);
      // The user key is in the compare even when it is not rewritten: of two racing
      // revocations the second sees its compare fail, re-reads, and reports revokedNow=false.
      return {
        compare: [unchanged(this.#k.user(name), kv), ...pending.map((p) => unchanged(p.kv.key, p.kv))],
        ops: [put(this.#k.user(name), json(next)), ...pending.map(({ t }) => put(this.#k.token(t.id), json({ ...t, revokedAt: at.getTime() })))],
        result: { user: toUser(next), revokedNow },
      };
    });
  }
}
