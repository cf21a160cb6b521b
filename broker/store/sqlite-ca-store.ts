// CaStore on the broker's sqlite database (shares SqliteStore's connection). Tables from
// migration 6: ca_roots, ca_rollover, ca_history, trust_bundle_acks, certificates.issuer.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CaPhase } from '../api/ca.ts';
import type { CaCommit, CaHistoryRecord, CaRolloverRecord, CaRootRecord, CaStore, ClusterTrustRecord } from '../ca/ca-store.ts';
import { immediateTransaction } from './transaction.ts';

type Row = Record<string, unknown>;

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRoot(r: Row): CaRootRecord {
  return {
    generation: Number(r.generation), fingerprint: String(r.fingerprint), certPem: String(r.cert_pem), keyFile: String(r.key_file),
    createdAt: new Date(Number(r.created_at)), inBundle: Number(r.in_bundle) === 1, issued: Number(r.issued) === 1,
  };
}

function toHistory(r: Row): CaHistoryRecord {
  return {
    at: new Date(Number(r.at)), action: r.action as CaHistoryRecord['action'], from: Number(r.from_phase) as CaPhase,
    to: Number(r.to_phase) as CaPhase, forced: Number(r.forced) === 1, detail: String(r.detail),
  };
}

export class SqliteCaStore implements CaStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      roots: db.prepare('SELECT * FROM ca_roots ORDER BY generation'),
      rollover: db.prepare('SELECT * FROM ca_rollover WHERE id = 1'),
      insertRoot: db.prepare(`INSERT INTO ca_roots (generation, fingerprint, cert_pem, key_file, created_at, in_bundle, issued)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      setInBundle: db.prepare('UPDATE ca_roots SET in_bundle = ? WHERE generation = ?'),
      setIssued: db.prepare('UPDATE ca_roots SET issued = 1 WHERE generation = ?'),
      destroyKey: db.prepare(`UPDATE ca_roots SET key_file = '' WHERE generation = ?`),
      dropRoot: db.prepare('DELETE FROM ca_roots WHERE generation = ?'),
      upsertRollover: db.prepare(`INSERT INTO ca_rollover (id, phase, issuing_generation, old_generation, new_generation, issuing_since)
        VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, issuing_generation = excluded.issuing_generation,
        old_generation = excluded.old_generation, new_generation = excluded.new_generation, issuing_since = excluded.issuing_since`),
      fillIssuer: db.prepare('UPDATE certificates SET issuer = ? WHERE issuer IS NULL'),
      insertHistory: db.prepare('INSERT INTO ca_history (at, action, from_phase, to_phase, forced, detail) VALUES (?, ?, ?, ?, ?, ?)'),
      history: db.prepare('SELECT * FROM (SELECT * FROM ca_history ORDER BY seq DESC LIMIT ?) ORDER BY seq'),
      upsertAck: db.prepare(`INSERT INTO trust_bundle_acks (cluster, fingerprints, acked_at) VALUES (?, ?, ?)
        ON CONFLICT (cluster) DO UPDATE SET fingerprints = excluded.fingerprints, acked_at = excluded.acked_at
        WHERE trust_bundle_acks.fingerprints IS NOT excluded.fingerprints`),
      clusterTrust: db.prepare(`SELECT c.id, a.fingerprints, a.acked_at, x.issuer FROM clusters c
        LEFT JOIN trust_bundle_acks a ON a.cluster = c.id
        LEFT JOIN certificates x ON x.rowid = (
          SELECT rowid FROM certificates WHERE cluster_id = c.id AND epoch = c.epoch ORDER BY issued_at DESC, rowid DESC LIMIT 1)
        WHERE c.state = 'active' ORDER BY c.id`),
    };
  }

  async roots(): Promise<CaRootRecord[]> {
    return this.#roots();
  }

  #roots(): CaRootRecord[] {
    return this.#s.roots!.all().map(toRoot);
  }

  async rollover(): Promise<CaRolloverRecord | undefined> {
    return this.#rollover();
  }

  #rollover(): CaRolloverRecord | undefined {
    const r = this.#s.rollover!.get();
    if (!r) return undefined;
    return {
      phase: Number(r.phase) as CaPhase, issuing: Number(r.issuing_generation), old: nullableNumber(r.old_generation),
      new: nullableNumber(r.new_generation), issuingSince: new Date(Number(r.issuing_since)),
    };
  }

  async seed(root: Omit<CaRootRecord, 'generation' | 'inBundle' | 'issued'>, now: Date): Promise<void> {
    immediateTransaction(this.#db, () => {
      if (this.#s.rollover!.get()) return;
      this.#s.insertRoot!.run(1, root.fingerprint, root.certPem, root.keyFile, root.createdAt.getTime(), 1, 1);
      this.#s.upsertRollover!.run(0, 1, null, null, now.getTime());
      this.#s.fillIssuer!.run(root.fingerprint);
    });
  }

  async commit(step: CaCommit, now: Date): Promise<boolean> {
    return immediateTransaction(this.#db, () => {
      const before = this.#rollover();
      const e = step.expected;
      if (!before || before.phase !== e.phase || before.issuing !== e.issuing || before.old !== e.old || before.new !== e.new) return false;
      const { rollover: r, addRoot: add } = step;
      if (add) this.#s.insertRoot!.run(add.generation, add.fingerprint, add.certPem, add.keyFile, add.createdAt.getTime(), 1, 0);
      const issuingSince = before && before.issuing === r.issuing ? before.issuingSince : now;
      this.#s.upsertRollover!.run(r.phase, r.issuing, r.old, r.new, issuingSince.getTime());
      this.#s.setIssued!.run(r.issuing);
      if (step.dropRoot !== undefined) this.#s.dropRoot!.run(step.dropRoot);
      for (const root of this.#roots()) this.#s.setInBundle!.run(step.bundle.includes(root.generation) ? 1 : 0, root.generation);
      for (const g of step.destroyKeysOf ?? []) this.#s.destroyKey!.run(g);
      const h = step.history;
      this.#s.insertHistory!.run(h.at.getTime(), h.action, h.from, h.to, h.forced ? 1 : 0, h.detail);
      return true;
    });
  }

  async history(limit: number): Promise<CaHistoryRecord[]> {
    return this.#s.history!.all(limit).map(toHistory);
  }

  // Agents ack every minute: an unchanged set writes nothing (no WAL frame, no fsync).
  async recordAck(cluster: string, fingerprints: readonly string[], at: Date): Promise<void> {
    this.#s.upsertAck!.run(cluster, JSON.stringify([...fingerprints].sort()), at.getTime());
  }

  async clusterTrust(): Promise<ClusterTrustRecord[]> {
    return this.#s.clusterTrust!.all().map((r) => ({
      cluster: String(r.id),
      ackedFingerprints: r.fingerprints ? JSON.parse(String(r.fingerprints)) as string[] : [],
      ackedAt: r.acked_at === null || r.acked_at === undefined ? null : new Date(Number(r.acked_at)),
      issuer: r.issuer === null || r.issuer === undefined ? null : String(r.issuer),
    }));
  }
}
