import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaCommit } from '../ca/ca-store.ts';
import { SqliteStore } from './sqlite-store.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const fp = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

const root2 = { generation: 2, fingerprint: fp(2), certPem: 'PEM-2', keyFile: 'ca/root-2.key', createdAt: later(10) };
const phase0 = { phase: 0, issuing: 1, old: null, new: null } as const;
const phase1: CaCommit = {
  expected: phase0,
  rollover: { phase: 1, issuing: 1, old: 1, new: 2 }, bundle: [1, 2], addRoot: root2,
  history: { at: later(10), action: 'advance', from: 0, to: 1, forced: false, detail: 'root 2 added' },
};

// The rest of the CA store's behaviour is the shared contract (test/support/store-contract.ts).
describe('SqliteCaStore (migration 6)', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plexus-ca-store-'));
    store = SqliteStore.create(join(dir, 'broker.db'), { clusterset: 'acme.example', now: t0 });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves nothing half-written when a step fails', async () => {
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    // A root whose fingerprint already exists breaks the UNIQUE constraint after nothing else ran.
    const bad: CaCommit = { ...phase1, addRoot: { ...root2, fingerprint: fp(1) } };
    await expect(store.ca.commit(bad, later(10))).rejects.toThrow();
    // Dropping the issuing root breaks a foreign key after the new state was written.
    await store.ca.commit(phase1, later(10));
    const { addRoot: _unused, ...rest } = phase1;
    await expect(store.ca.commit({ ...rest, expected: phase1.rollover, rollover: { ...phase1.rollover, phase: 2 }, dropRoot: 1, bundle: [2] }, later(11))).rejects.toThrow();
    expect(await store.ca.rollover()).toMatchObject({ phase: 1, issuing: 1 });
    expect((await store.ca.roots()).map((r) => [r.generation, r.inBundle])).toEqual([[1, true], [2, true]]);
    expect(await store.ca.history(10)).toHaveLength(1);
  });

});
