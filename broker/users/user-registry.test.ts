import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite-store.ts';
import { UserRegistry } from './user-registry.ts';
import type { UserRecord } from './user-store.ts';

describe('UserRegistry', () => {
  let dir: string;
  let store: SqliteStore;
  const now = new Date('2030-01-01T00:00:00Z');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-user-registry-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces a revocation once when two brokers revoke the same person at the same time', async () => {
    const announced: string[] = [];
    const registry = () => new UserRegistry({ store, clock: { now: () => now }, caFingerprint: 'sha256:' + '0'.repeat(64), onRevoked: (u: UserRecord) => announced.push(u.name) });
    await registry().invite({ name: 'alice', groups: ['dev'] });
    const [a, b] = await Promise.all([registry().revoke('alice'), registry().revoke('alice')]);
    expect([a.state, b.state]).toEqual(['revoked', 'revoked']);
    expect(announced).toEqual(['alice']);
  });
});
