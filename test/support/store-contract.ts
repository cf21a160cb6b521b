// The store contract (broker/store/README.md) as one suite, run against every backend:
// the embedded one in the unit tests (broker/store/sqlite-store.test.ts) and etcd against a
// real 3-member TLS cluster (test/integration/etcd-store.test.ts). A backend passes only if
// each conditional operation applies exactly when its condition holds, also when two
// callers race on it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaCommit } from '../../broker/ca/ca-store.ts';
import { tokenState, type TokenRecord } from '../../broker/enroll/token-record.ts';
import type { Store } from '../../broker/store/store.ts';

export interface ContractBackend {
  /** A new, empty store of clusterset "acme.example" created at t0. */
  create(): Promise<Store>;
  /** Called after each test with the store it made. */
  dispose(store: Store): Promise<void>;
}

const t0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const fp = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function token(id: string, subject: string, ttlSeconds = 3600): TokenRecord {
  return { id, kind: 'cluster', subject, secretHash: new Uint8Array(32).fill(7), createdAt: t0, expiresAt: later(ttlSeconds), usedAt: null, revokedAt: null };
}
const clusterToken = (id: string, subject: string): TokenRecord => token(id, subject);
function userToken(id: string, subject: string, ttlSeconds = 3600): TokenRecord {
  return { id, kind: 'user', subject, secretHash: new Uint8Array(32).fill(3), createdAt: t0, expiresAt: later(ttlSeconds), usedAt: null, revokedAt: null };
}
const cert = (serial: string, notAfterSeconds = 86400) => ({ serial, notAfter: later(notAfterSeconds) });
const baseline = (revision: number, hash = `h${revision}`) => ({ revision, hash, document: '{}', createdAt: t0 });

const root2 = { generation: 2, fingerprint: fp(2), certPem: 'PEM-2', keyFile: 'ca/root-2.key', createdAt: later(10) };
const phase0 = { phase: 0, issuing: 1, old: null, new: null } as const;
const phase1: CaCommit = {
  expected: phase0,
  rollover: { phase: 1, issuing: 1, old: 1, new: 2 }, bundle: [1, 2], addRoot: root2,
  history: { at: later(10), action: 'advance', from: 0, to: 1, forced: false, detail: 'root 2 added' },
};

export function describeStoreContract(name: string, backend: ContractBackend): void {
  let store: Store;
  beforeEach(async () => {
    store = await backend.create();
  });
  afterEach(async () => {
    await backend.dispose(store);
  });

  describe(`${name}: tokens, clusters, certificates`, () => {
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

    it('consumes a token exactly once when two joins race on it', async () => {
      await store.addToken(token('aaaaaaaa', 'east-1'));
      const results = await Promise.all(['s1', 's2', 's3'].map((s) => store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert(s), now: later(1) })));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(['token-not-pending', 'token-not-pending']);
      expect(await store.getCluster('east-1')).toMatchObject({ state: 'active', epoch: 1 });
    });

    it('marks a certificate presented once and sees a newer presented one as superseding', async () => {
      await store.addToken(token('aaaaaaaa', 'east-1'));
      await store.completeJoin({ tokenId: 'aaaaaaaa', clusterId: 'east-1', certificate: cert('s1'), now: later(1) });
      await store.recordRenewal({ clusterId: 'east-1', epoch: 1, certificate: cert('s2'), now: later(2) });
      expect(await store.isLatestCertificate('east-1', 's2')).toBe(true);
      expect(await store.isLatestCertificate('east-1', 's1')).toBe(false);
      expect(await store.isSupersededInUse('s1')).toBe(false);
      await store.markCertificatePresented('s2', later(3));
      await store.markCertificatePresented('s2', later(4));
      expect(await store.isSupersededInUse('s1')).toBe(true);
      expect(await store.isSupersededInUse('s2')).toBe(false);
    });
  });

  describe(`${name}: CA rollover`, () => {
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

    it('of two replicas stepping the rollover from the same state exactly one commits', async () => {
      await store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0);
      const r = await Promise.all([store.ca.commit(phase1, later(10)), store.ca.commit({ ...phase1, addRoot: { ...root2, generation: 3, fingerprint: fp(3) } }, later(10))]);
      expect(r.filter(Boolean)).toHaveLength(1);
      expect(await store.ca.history(10)).toHaveLength(1);
      expect(await store.ca.roots()).toHaveLength(2);
    });

    it('of two replicas seeding at once, one seeds and the other changes nothing', async () => {
      await Promise.all([
        store.ca.seed({ fingerprint: fp(1), certPem: 'PEM-1', keyFile: 'ca/root.key', createdAt: t0 }, t0),
        store.ca.seed({ fingerprint: fp(9), certPem: 'PEM-9', keyFile: 'x', createdAt: t0 }, t0),
      ]);
      expect(await store.ca.roots()).toHaveLength(1);
    });
  });

  describe(`${name}: RBAC`, () => {
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

    it('of two racing appends of the same revision exactly one wins', async () => {
      const r = await Promise.all([store.rbac.insert(baseline(1, 'a')), store.rbac.insert(baseline(1, 'b'))]);
      expect(r.filter(Boolean)).toHaveLength(1);
    });
  });

  describe(`${name}: people`, () => {
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

    it('of two racing revocations exactly one says it revoked', async () => {
      await store.users.invite({ token: userToken('tok00007', 'frank'), groups: [], now: t0 });
      const r = await Promise.all([store.users.revoke('frank', later(1)), store.users.revoke('frank', later(2))]);
      expect(r.filter((x) => x?.revokedNow)).toHaveLength(1);
    });
  });

  describe(`${name}: catalog`, () => {
    const exp = (cluster: string, n: string, revision: number) => ({ cluster, namespace: 'default', name: n, spec: `{"n":"${n}"}`, revision });
    const ev = (revision: number) => ({ revision, payload: `{"r":${revision}}` });

    it('commits only on the head it was planned on, and load gives back what was committed', async () => {
      expect(await store.catalog.load()).toMatchObject({ revision: 0, compactedThrough: 0, exports: [], events: [], leases: [] });
      expect(await store.catalog.commit({ after: 0, revision: 2, upserts: [exp('east', 'a', 1), exp('west', 'b', 2)], deletes: [], events: [ev(1), ev(2)], leases: [{ cluster: 'east', available: true }], compactThrough: 0 })).toBe(true);
      expect(await store.catalog.commit({ after: 0, revision: 3, upserts: [exp('east', 'c', 3)], deletes: [], events: [ev(3)], compactThrough: 0 })).toBe(false);
      expect(await store.catalog.commit({ after: 2, revision: 3, upserts: [exp('east', 'a', 3)], deletes: [{ cluster: 'west', namespace: 'default', name: 'b' }], events: [ev(3)],
        advertisements: [{ cluster: 'east', body: '{}', revision: 3 }], compactThrough: 1 })).toBe(true);
      const s = await store.catalog.load();
      expect(s).toMatchObject({ revision: 3, compactedThrough: 1, events: [ev(2), ev(3)], leases: [{ cluster: 'east', available: true }], advertisements: [{ cluster: 'east', body: '{}', revision: 3 }] });
      expect(s.exports).toEqual([exp('east', 'a', 3)]);
      expect(await store.catalog.commit({ after: 3, revision: 3, upserts: [], deletes: [], events: [], leaseDeletes: ['east'], advertisementDeletes: ['east'], compactThrough: 3 })).toBe(true);
      expect(await store.catalog.load()).toMatchObject({ revision: 3, compactedThrough: 3, events: [], leases: [], advertisements: [] });
    });

    it('of two replicas committing on the same head exactly one appends', async () => {
      const r = await Promise.all(['a', 'b'].map((n) => store.catalog.commit({ after: 0, revision: 1, upserts: [exp('east', n, 1)], deletes: [], events: [ev(1)], compactThrough: 0 })));
      expect(r.filter(Boolean)).toHaveLength(1);
      expect((await store.catalog.load()).exports).toHaveLength(1);
    });

    it('commits 300 exports of 3 clusters in one commit (beyond etcd\'s default 128 ops per txn)', async () => {
      const upserts = Array.from({ length: 300 }, (_, i) => exp(['east', 'west', 'north'][i % 3]!, `svc-${i}`, i + 1));
      const events = upserts.map((u) => ev(u.revision));
      expect(await store.catalog.commit({ after: 0, revision: 300, upserts, deletes: [], events, compactThrough: 0 })).toBe(true);
      const s = await store.catalog.load();
      expect(s.exports).toHaveLength(300);
      expect(s.events.map((e) => e.revision)).toEqual(upserts.map((u) => u.revision));
    });
  });

  describe(`${name}: agent reports`, () => {
    it('keeps the last report per cluster and forgets a deleted one', async () => {
      await store.reports.put({ cluster: 'east', report: '{"v":1}', reportedAt: later(1) });
      await store.reports.put({ cluster: 'east', report: '{"v":2}', reportedAt: later(2) });
      await store.reports.put({ cluster: 'west', report: '{"v":3}', reportedAt: later(3) });
      await store.reports.delete('west');
      await store.reports.delete('never');
      expect(await store.reports.all()).toEqual([{ cluster: 'east', report: '{"v":2}', reportedAt: later(2) }]);
    });
  });
}
