import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

function userToken(id: string, subject: string, ttlSeconds = 3600): TokenRecord {
  return { id, kind: 'user', subject, secretHash: new Uint8Array(32).fill(3), createdAt: t0, expiresAt: later(ttlSeconds), usedAt: null, revokedAt: null };
}

describe('SqliteUserStore (migration 5)', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-users-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('invites, then a login consumes the token once and takes the invitation\'s groups', async () => {
    expect(await store.users.invite({ token: userToken('tok00001', 'alice'), groups: ['dev'], now: t0 })).toBe('ok');
    expect(await store.users.get('alice')).toMatchObject({ state: 'invited', groups: ['dev'] });
    expect(await store.users.inviteGroups('tok00001')).toEqual(['dev']);
    const first = await store.users.completeLogin({ tokenId: 'tok00001', name: 'alice', now: later(10) });
    expect(first).toMatchObject({ ok: true, user: { state: 'active', groups: ['dev'] } });
    expect(await store.users.completeLogin({ tokenId: 'tok00001', name: 'alice', now: later(11) })).toEqual({ ok: false, reason: 'token-not-pending' });
    // A later invitation with other groups replaces them at its login.
    await store.users.invite({ token: userToken('tok00002', 'alice'), groups: ['ops'], now: later(20) });
    await store.users.completeLogin({ tokenId: 'tok00002', name: 'alice', now: later(21) });
    expect((await store.users.get('alice'))!.groups).toEqual(['ops']);
  });

  it('refuses an expired token', async () => {
    await store.users.invite({ token: userToken('tok00003', 'bob', 60), groups: [], now: t0 });
    expect(await store.users.completeLogin({ tokenId: 'tok00003', name: 'bob', now: later(61) })).toEqual({ ok: false, reason: 'token-not-pending' });
  });

  it('revokes idempotently and for good: pending tokens die, logins and re-invitations are refused', async () => {
    await store.users.invite({ token: userToken('tok00004', 'carol'), groups: ['dev'], now: t0 });
    const revoked = (await store.users.revoke('carol', later(5)))!;
    expect(revoked).toMatchObject({ revokedNow: true, user: { state: 'revoked', revokedAt: later(5) } });
    expect(await store.users.revoke('carol', later(9))).toMatchObject({ revokedNow: false, user: { revokedAt: later(5) } });
    expect(tokenState((await store.getToken('tok00004'))!, later(6))).toBe('revoked');
    expect((await store.users.completeLogin({ tokenId: 'tok00004', name: 'carol', now: later(6) })).ok).toBe(false);
    expect(await store.users.invite({ token: userToken('tok00005', 'carol'), groups: [], now: later(7) })).toBe('revoked');
    expect(await store.getToken('tok00005')).toBeUndefined();
    expect((await store.users.listRevoked()).map((u) => u.name)).toEqual(['carol']);
    expect(await store.users.revoke('nobody', later(8))).toBeUndefined();
  });

  it('invites only under a free token id', async () => {
    expect(await store.users.invite({ token: userToken('tok00006', 'dave'), groups: ['dev'], now: t0 })).toBe('ok');
    expect(await store.users.invite({ token: userToken('tok00006', 'erin'), groups: ['ops'], now: t0 })).toBe('id-taken');
    expect(await store.users.get('erin')).toBeUndefined();
    expect(await store.users.inviteGroups('tok00006')).toEqual(['dev']);
  });
});
