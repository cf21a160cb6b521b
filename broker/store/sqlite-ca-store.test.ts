import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaCommit } from '../ca/ca-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { TokenRecord } from '../enroll/token-record.ts';

const t0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const fp = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function clusterToken(id: string, subject: string): TokenRecord {
  return { id, kind: 'cluster', subject, secretHash: new Uint8Array(32).fill(1), createdAt: t0, expiresAt: later(3600), usedAt: null, revokedAt: null };
}

const root2 = { generation: 2, fingerprint: fp(2), certPem: 'PEM-2', keyFile: 'ca/root-2.key', createdAt: later(10) };
const phase0 = { phase: 0, issuing: 1, old: null, new: null } as const;
const phase1: CaCommit = {
  expected: phase0,
  rollover: { phase: 1, issuing: 1, old: 1, new: 2 }, bundle: [1, 2], addRoot: root2,
  history: { at: later(10), action: 'advance', from: 0, to: 1, forced: false, detail: 'root 2 added' },
};

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

  async function join1(cluster: string, issuer?: string): Promise<void> {
    await store.addToken(clusterToken(`tok-${cluster}`, cluster));
    await store.completeJoin({ tokenId: `tok-${cluster}`, clusterId: cluster, certificate: { serial: `s-${cluster}`, notAfter: later(86_400), ...(issuer ? { issuer } : {}) }, now: t0 });
  }

  it('seeds generation 1 once and names it the issuer of older certificates', async () => {
    await join1('east');
    expect(await store.ca.rollover()).toBeUndefined();
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    await store.ca.seed({ fingerprint: fp(9), certPem: 'PEM-9', keyFile: 'x', createdAt: t0 }, t0);
    expect(await store.ca.roots()).toEqual([{ generation: 1, fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0, inBundle: true, issued: true }]);
    expect(await store.ca.rollover()).toEqual({ phase: 0, issuing: 1, old: null, new: null, issuingSince: t0 });
    expect(await store.ca.clusterTrust()).toEqual([{ cluster: 'east', ackedFingerprints: [], ackedAt: null, issuer: fp(1) }]);
  });

  it('commits a step whole: root, state, bundle membership, history; issuingSince moves only with the issuer', async () => {
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    await store.ca.commit(phase1, later(10));
    expect(await store.ca.rollover()).toEqual({ phase: 1, issuing: 1, old: 1, new: 2, issuingSince: t0 });
    expect((await store.ca.roots()).map((r) => [r.generation, r.inBundle, r.issued])).toEqual([[1, true, true], [2, true, false]]);
    await store.ca.commit({ expected: phase1.rollover, rollover: { phase: 3, issuing: 2, old: 1, new: 2 }, bundle: [1, 2], history: { ...phase1.history, from: 2, to: 3 } }, later(20));
    expect((await store.ca.rollover())!.issuingSince).toEqual(later(20));
    expect((await store.ca.roots())[1]!.issued).toBe(true);
    await store.ca.commit({ expected: { phase: 3, issuing: 2, old: 1, new: 2 }, rollover: { phase: 5, issuing: 2, old: 1, new: 2 }, bundle: [2], destroyKeysOf: [1], history: { ...phase1.history, from: 4, to: 5 } }, later(30));
    expect((await store.ca.roots()).map((r) => [r.generation, r.inBundle, r.keyFile])).toEqual([[1, false, ''], [2, true, 'ca/root-2.key']]);
    expect((await store.ca.history(2)).map((h) => h.to)).toEqual([3, 5]);
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

  it('records acknowledgements and reports the issuer of each active cluster\'s newest certificate', async () => {
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    await join1('east', fp(1));
    await join1('west', fp(1));
    await store.recordRenewal({ clusterId: 'east', epoch: 1, certificate: { serial: 'e2', notAfter: later(90_000), issuer: fp(2) }, now: later(5) });
    await store.ca.recordAck('east', [fp(2), fp(1)], later(6));
    await store.removeCluster('west', later(7));
    expect(await store.ca.clusterTrust()).toEqual([{ cluster: 'east', ackedFingerprints: [fp(1), fp(2)], ackedAt: later(6), issuer: fp(2) }]);
  });

  it('an unchanged acknowledgement writes nothing; a changed one records its time', async () => {
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    await join1('east', fp(1));
    await store.ca.recordAck('east', [fp(1)], later(6));
    await store.ca.recordAck('east', [fp(1)], later(7));
    expect(await store.ca.clusterTrust()).toEqual([{ cluster: 'east', ackedFingerprints: [fp(1)], ackedAt: later(6), issuer: fp(1) }]);
    await store.ca.recordAck('east', [fp(2), fp(1)], later(8));
    await store.ca.recordAck('east', [fp(1), fp(2)], later(9));
    expect(await store.ca.clusterTrust()).toEqual([{ cluster: 'east', ackedFingerprints: [fp(1), fp(2)], ackedAt: later(8), issuer: fp(1) }]);
  });

  it('commits a step only on the rollover state it was planned from (two replicas cannot both step)', async () => {
    await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
    expect(await store.ca.commit(phase1, later(10))).toBe(true);
    // The same step planned on phase 0 again (another replica's): refused, nothing written.
    expect(await store.ca.commit({ ...phase1, addRoot: { ...root2, generation: 3, fingerprint: fp(3) } }, later(11))).toBe(false);
    expect((await store.ca.roots()).map((r) => r.generation)).toEqual([1, 2]);
    expect(await store.ca.history(10)).toHaveLength(1);
  });
});
