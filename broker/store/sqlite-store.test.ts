import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

function token(id: string, subject: string, ttlSeconds = 3600): TokenRecord {
  return { id, kind: 'cluster', subject, secretHash: new Uint8Array(32).fill(7), createdAt: t0, expiresAt: later(ttlSeconds), usedAt: null, revokedAt: null };
}
const cert = (serial: string, notAfterSeconds = 86400) => ({ serial, notAfter: later(notAfterSeconds) });

describe('SqliteStore', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-store-'));
    path = join(dir, 'broker.db');
    store = SqliteStore.create(path, { clusterset: 'acme.example', now: t0 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records its schema version, WAL mode and the clusterset', async () => {
    await store.close();
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: migrations.length });
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
    store = SqliteStore.open(path);
    expect(store.clusterset).toBe('acme.example');
  });

  it('refuses to create over an existing store and to open a missing one', async () => {
    expect(() => SqliteStore.create(path, { clusterset: 'other.example', now: t0 })).toThrow(expect.objectContaining({ code: 'PLX_BROKER_ALREADY_INITIALIZED' }));
    expect(() => SqliteStore.open(join(dir, 'missing.db'))).toThrow(expect.objectContaining({ code: 'PLX_BROKER_NOT_INITIALIZED' }));
  });

  it('stores tokens with their hash and derives their state from the clock', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1', 60));
    const got = (await store.getToken('aaaaaaaa'))!;
    expect(Array.from(got.secretHash)).toEqual(Array.from(new Uint8Array(32).fill(7)));
    expect(tokenState(got, t0)).toBe('pending');
    expect(tokenState(got, later(60))).toBe('expired');
    expect(await store.getToken('unknown0')).toBeUndefined();
  });

  it('joins atomically: consumes the token, activates the cluster in epoch 1 and records the serial', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    const r = await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    expect(r).toMatchObject({ ok: true, cluster: { id: 'east-1', state: 'active', epoch: 1, certificateSerial: 's1' } });
    expect(tokenState((await store.getToken('aaaaaaaa'))!, later(2))).toBe('used');
    expect(await store.isCurrentCertificate('east-1', 's1')).toBe(true);
    expect(await store.isCurrentCertificate('west-1', 's1')).toBe(false);
  });

  it('rejects a replayed token without writing anything', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    await store.removeCluster('east-1', later(2));
    const replay = await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s2'), now: later(3) });
    expect(replay).toMatchObject({ ok: false, reason: 'token-not-pending' });
    expect(await store.getCluster('east-1')).toMatchObject({ state: 'removed', epoch: 1 });
    expect(await store.isCurrentCertificate('east-1', 's2')).toBe(false);
  });

  it('refuses an expired token inside the transaction', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1', 60));
    const r = await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(61) });
    expect(r).toMatchObject({ ok: false, reason: 'token-not-pending' });
    expect(await store.getCluster('east-1')).toBeUndefined();
    expect((await store.getToken('aaaaaaaa'))!.usedAt).toBeNull();
  });

  it('refuses a second join while the cluster is active and keeps the second token pending', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    await store.addToken(token('bbbbbbbb', 'east-1'));
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    const r = await store.completeJoin({ tokenId: 'bbbbbbbb', clusterId: 'east-1', certificate: cert('s2'), now: later(2) });
    expect(r).toEqual({ ok: false, reason: 'cluster-active' });
    expect((await store.getToken('bbbbbbbb'))!.usedAt).toBeNull();
  });

  it('removal is idempotent, revokes pending tokens, and a rejoin starts a new epoch', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    await store.addToken(token('stale000', 'east-1'));
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    const removed = (await store.removeCluster('east-1', later(2)))!;
    expect(removed).toMatchObject({ state: 'removed', removedAt: later(2) });
    expect(await store.removeCluster('east-1', later(3))).toMatchObject({ state: 'removed', removedAt: later(2) });
    expect(tokenState((await store.getToken('stale000'))!, later(3))).toBe('revoked');
    expect(await store.isCurrentCertificate('east-1', 's1')).toBe(false);

    await store.addToken(token('cccccccc', 'east-1'));
    const rejoin = await store.completeJoin({ tokenId: 'cccccccc', clusterId: 'east-1', certificate: cert('s3'), now: later(4) });
    expect(rejoin).toMatchObject({ ok: true, cluster: { state: 'active', epoch: 2, removedAt: null, certificateSerial: 's3' } });
    expect(await store.isCurrentCertificate('east-1', 's1')).toBe(false);
    expect(await store.isCurrentCertificate('east-1', 's3')).toBe(true);
  });

  it('removing an unknown cluster changes nothing', async () => {
    await store.addToken(token('aaaaaaaa', 'ghost'));
    expect(await store.removeCluster('ghost', later(1))).toBeUndefined();
    expect((await store.getToken('aaaaaaaa'))!.revokedAt).toBeNull();
  });

  it('records renewals only for the epoch the caller authenticated in', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    expect(await store.recordRenewal({ clusterId: 'east-1', epoch: 1, certificate: cert('s2', 90000), now: later(10) })).toMatchObject({ certificateSerial: 's2' });
    expect(await store.isCurrentCertificate('east-1', 's1')).toBe(true);
    expect(await store.recordRenewal({ clusterId: 'east-1', epoch: 2, certificate: cert('s3'), now: later(11) })).toBeUndefined();
    await store.removeCluster('east-1', later(12));
    expect(await store.recordRenewal({ clusterId: 'east-1', epoch: 1, certificate: cert('s4'), now: later(13) })).toBeUndefined();
    expect(await store.isCurrentCertificate('east-1', 's4')).toBe(false);
  });

  it('revokes only pending tokens and reports unknown ones as undefined', async () => {
    await store.addToken(token('aaaaaaaa', 'east-1'));
    await store.addToken(token('bbbbbbbb', 'west-1'));
    await store.completeJoin({ tokenId: 'bbbbbbbb', clusterId: 'west-1', certificate: cert('s1'), now: later(1) });
    expect(await store.revokeToken('aaaaaaaa', later(2))).toMatchObject({ revokedAt: later(2) });
    expect(await store.revokeToken('aaaaaaaa', later(3))).toMatchObject({ revokedAt: later(2) });
    expect(await store.revokeToken('bbbbbbbb', later(4))).toMatchObject({ revokedAt: null, usedAt: later(1) });
    expect(await store.revokeToken('zzzzzzzz', later(5))).toBeUndefined();
    expect((await store.listTokens()).map((t) => t.id)).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });

  it('adds a token only under a free id, and a cluster token only while its cluster is not an active member', async () => {
    expect(await store.addToken(token('aaaaaaaa', 'east-1'))).toBe('ok');
    expect(await store.addToken({ ...token('aaaaaaaa', 'west-1'), secretHash: new Uint8Array(32).fill(9) })).toBe('id-taken');
    expect((await store.getToken('aaaaaaaa'))!.subject).toBe('east-1');
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
    expect(await store.addToken(token('bbbbbbbb', 'east-1'))).toBe('cluster-active');
    expect(await store.getToken('bbbbbbbb')).toBeUndefined();
    await store.removeCluster('east-1', later(2));
    expect(await store.addToken(token('bbbbbbbb', 'east-1'))).toBe('ok');
  });
});
