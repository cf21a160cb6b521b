import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.ts';
import { TokenRegistry } from './token-registry.ts';
import { parseToken, tokenSecretMatches } from './token.ts';

describe('TokenRegistry', async () => {
  let dir: string;
  let store: SqliteStore;
  let now: Date;
  let tokens: TokenRegistry;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-tokens-'));
    now = new Date('2030-01-01T00:00:00Z');
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now });
    tokens = new TokenRegistry({ store, clock: { now: () => now }, caFingerprint: 'sha256:' + '0'.repeat(64) });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints a token whose secret is stored only as a hash, with the default TTL of 1h', async () => {
    const res = await tokens.create({ cluster: 'east-1' });
    const { id, secret } = parseToken(res.token);
    expect(res.info).toMatchObject({ id, subject: 'east-1', state: 'pending', expiresAt: '2030-01-01T01:00:00.000Z' });
    const row = (await store.getToken(id))!;
    expect(tokenSecretMatches(secret, row.secretHash)).toBe(true);
    expect(JSON.stringify(await store.listTokens())).not.toContain(secret);
  });

  it('lists states as time moves and never shows secrets', async () => {
    const a = await tokens.create({ cluster: 'east-1', ttlSeconds: 60 });
    const b = await tokens.create({ cluster: 'west-1', ttlSeconds: 600 });
    await tokens.revoke(b.info.id);
    now = new Date(now.getTime() + 61_000);
    const list = await tokens.list();
    expect(list.map((t) => [t.id, t.state]).sort()).toEqual([[a.info.id, 'expired'], [b.info.id, 'revoked']].sort());
    expect(JSON.stringify(list)).not.toContain(parseToken(a.token).secret);
  });

  it('revokes idempotently and reports unknown ids', async () => {
    const a = await tokens.create({ cluster: 'east-1' });
    expect((await tokens.revoke(a.info.id)).state).toBe('revoked');
    expect((await tokens.revoke(a.info.id)).state).toBe('revoked');
    await expect(tokens.revoke('zzzzzzzz')).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_NOT_FOUND' }));
  });

  it('rejects TTLs outside [60s, 7d] and bad cluster IDs', async () => {
    await expect(tokens.create({ cluster: 'east-1', ttlSeconds: 8 * 86400 })).rejects.toThrow();
    await expect(tokens.create({ cluster: 'East_1' })).rejects.toThrow();
    expect(await store.listTokens()).toHaveLength(0);
  });

  it('refuses a token for a cluster that is already an active member', async () => {
    const a = await tokens.create({ cluster: 'east-1' });
    await store.completeJoin({ tokenId: a.info.id, clusterId: 'east-1', certificate: { serial: 'ab', notAfter: new Date(now.getTime() + 86400_000) }, now });
    await expect(tokens.create({ cluster: 'east-1' })).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_CONFLICT' }));
  });

  it('refuses a token for a cluster whose join landed after any look-up could have seen it (one conditional store write, no check-then-insert)', async () => {
    const a = await tokens.create({ cluster: 'east-1' });
    await store.completeJoin({ tokenId: a.info.id, clusterId: 'east-1', certificate: { serial: 'ab', notAfter: new Date(now.getTime() + 86400_000) }, now });
    // What a second replica would read just before the join committed: no such member.
    const stale = { addToken: (t: Parameters<SqliteStore['addToken']>[0]) => store.addToken(t), listTokens: () => store.listTokens(),
      revokeToken: (id: string, at: Date) => store.revokeToken(id, at), getCluster: async () => undefined };
    const replica = new TokenRegistry({ store: stale, clock: { now: () => now }, caFingerprint: 'sha256:' + '0'.repeat(64) });
    await expect(replica.create({ cluster: 'east-1' })).rejects.toThrow(expect.objectContaining({ code: 'PLX_BROKER_CONFLICT' }));
    expect((await store.listTokens()).map((t) => t.id)).toEqual([a.info.id]);
  });
});

