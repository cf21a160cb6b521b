import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';
import { describeStoreContract } from '../../test/support/store-contract.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
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

});

describe('SqliteStore contract', () => {
  const dirs = new Map<object, string>();
  describeStoreContract('SqliteStore', {
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'plexus-store-contract-'));
      const store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
      dirs.set(store, dir);
      return store;
    },
    async dispose(store) {
      await store.close();
      rmSync(dirs.get(store)!, { recursive: true, force: true });
      dirs.delete(store);
    },
  });
});
