import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const baseline = (revision: number, hash = `h${revision}`) => ({ revision, hash, document: '{}', createdAt: t0 });

describe('SqliteRbacStore', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-rbac-store-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends a baseline revision only when it is one past the stored head (two writers cannot both take a number)', async () => {
    expect(await store.rbac.insert(baseline(1))).toBe(true);
    expect(await store.rbac.insert(baseline(1, 'other'))).toBe(false);
    expect(await store.rbac.insert(baseline(3))).toBe(false);
    expect(await store.rbac.current()).toMatchObject({ revision: 1, hash: 'h1' });
    expect(await store.rbac.insert(baseline(2))).toBe(true);
  });

  it('labels only a known cluster, atomically with the check', async () => {
    expect(await store.rbac.updateLabels('ghost', { env: 'prod' }, [])).toBe(false);
    expect((await store.rbac.allLabels()).size).toBe(0);
    await store.addToken({ id: 'aaaaaaaa', kind: 'cluster', subject: 'east', secretHash: new Uint8Array(32), createdAt: t0, expiresAt: new Date(t0.getTime() + 3600_000), usedAt: null, revokedAt: null });
    await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east', certificate: { serial: 's1', notAfter: new Date(t0.getTime() + 86400_000) }, now: t0 });
    expect(await store.rbac.updateLabels('east', { env: 'prod' }, [])).toBe(true);
    expect(await store.rbac.labels('east')).toEqual({ env: 'prod' });
  });
});
