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
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-users-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('invites, then a login consumes the token once and takes the invitation\'s groups', () => {
    expect(store.users.invite({ token: userToken('tok00001', 'alice'), groups: ['dev'], now: t0 })).toBe('ok');
    expect(store.users.get('alice')).toMatchObject({ state: 'invited', groups: ['dev'] });
    expect(store.users.inviteGroups('tok00001')).toEqual(['dev']);
    const first = store.users.completeLogin({ tokenId: 'tok00001', name: 'alice', now: later(10) });
    expect(first).toMatchObject({ ok: true, user: { state: 'active', groups: ['dev'] } });
    expect(store.users.completeLogin({ tokenId: 'tok00001', name: 'alice', now: later(11) })).toEqual({ ok: false, reason: 'token-not-pending' });
    // A later invitation with other groups replaces them at its login.
    store.users.invite({ token: userToken('tok00002', 'alice'), groups: ['ops'], now: later(20) });
    store.users.completeLogin({ tokenId: 'tok00002', name: 'alice', now: later(21) });
    expect(store.users.get('alice')!.groups).toEqual(['ops']);
  });

  it('refuses an expired token', () => {
    store.users.invite({ token: userToken('tok00003', 'bob', 60), groups: [], now: t0 });
    expect(store.users.completeLogin({ tokenId: 'tok00003', name: 'bob', now: later(61) })).toEqual({ ok: false, reason: 'token-not-pending' });
  });

  it('revokes idempotently and for good: pending tokens die, logins and re-invitations are refused', () => {
    store.users.invite({ token: userToken('tok00004', 'carol'), groups: ['dev'], now: t0 });
    const revoked = store.users.revoke('carol', later(5))!;
    expect(revoked).toMatchObject({ state: 'revoked', revokedAt: later(5) });
    expect(store.users.revoke('carol', later(9))!.revokedAt).toEqual(later(5));
    expect(tokenState(store.getToken('tok00004')!, later(6))).toBe('revoked');
    expect(store.users.completeLogin({ tokenId: 'tok00004', name: 'carol', now: later(6) }).ok).toBe(false);
    expect(store.users.invite({ token: userToken('tok00005', 'carol'), groups: [], now: later(7) })).toBe('revoked');
    expect(store.getToken('tok00005')).toBeUndefined();
    expect(store.users.listRevoked().map((u) => u.name)).toEqual(['carol']);
    expect(store.users.revoke('nobody', later(8))).toBeUndefined();
  });
});
