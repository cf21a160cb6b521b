import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.ts';
import { TokenRegistry } from './token-registry.ts';
import { parseToken, tokenSecretMatches } from './token.ts';

describe('TokenRegistry', () => {
  let dir: string;
  let store: SqliteStore;
  let now: Date;
  let tokens: TokenRegistry;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-tokens-'));
    now = new Date('2030-01-01T00:00:00Z');
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now });
    tokens = new TokenRegistry({ store, clock: { now: () => now }, caFingerprint: 'sha256:' + '0'.repeat(64) });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints a token whose secret is stored only as a hash, with the default TTL of 1h', () => {
    const res = tokens.create({ cluster: 'east-1' });
    const { id, secret } = parseToken(res.token);
    expect(res.info).toMatchObject({ id, subject: 'east-1', state: 'pending', expiresAt: '2030-01-01T01:00:00.000Z' });
    const row = store.getToken(id)!;
    expect(tokenSecretMatches(secret, row.secretHash)).toBe(true);
    expect(JSON.stringify(store.listTokens())).not.toContain(secret);
  });

  it('lists states as time moves and never shows secrets', () => {
    const a = tokens.create({ cluster: 'east-1', ttlSeconds: 60 });
    const b = tokens.create({ cluster: 'west-1', ttlSeconds: 600 });
    tokens.revoke(b.info.id);
    now = new Date(now.getTime() + 61_000);
    const list = tokens.list();
    expect(list.map((t) => [t.id, t.state]).sort()).toEqual([[a.info.id, 'expired'], [b.info.id, 'revoked']].sort());
    expect(JSON.stringify(list)).not.toContain(parseToken(a.token).secret);
  });

  it('revokes idempotently and reports unknown ids', () => {
    const a = tokens.create({ cluster: 'east-1' });
    expect(tokens.revoke(a.info.id).state).toBe('revoked');
    expect(tokens.revoke(a.info.id).state).toBe('revoked');
    expect(() => tokens.revoke('zzzzzzzz')).toThrow(expect.objectContaining({ code: 'PLX_BROKER_NOT_FOUND' }));
  });

  it('rejects TTLs outside [60s, 7d] and bad cluster IDs', () => {
    expect(() => tokens.create({ cluster: 'east-1', ttlSeconds: 8 * 86400 })).toThrow();
    expect(() => tokens.create({ cluster: 'East_1' })).toThrow();
    expect(store.listTokens()).toHaveLength(0);
  });

  it('refuses a token for a cluster that is already an active member', () => {
    const a = tokens.create({ cluster: 'east-1' });
    store.completeJoin({ tokenId: a.info.id, clusterId: 'east-1', certificate: { serial: 'ab', notAfter: new Date(now.getTime() + 86400_000) }, now });
    expect(() => tokens.create({ cluster: 'east-1' })).toThrow(expect.objectContaining({ code: 'PLX_BROKER_CONFLICT' }));
  });
});
