// RbacStore on the broker's sqlite database (shares SqliteStore's connection, so WAL and
// synchronous=FULL apply). Tables come from migration 4.
import { immediateTransaction } from './transaction.ts';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RbacStore, StoredBaseline, StoredRbacStatus } from '../rbac/rbac-store.ts';

export class SqliteRbacStore implements RbacStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      current: db.prepare('SELECT revision, hash, document, created_at FROM rbac_baselines ORDER BY revision DESC LIMIT 1'),
      insert: db.prepare('INSERT INTO rbac_baselines (revision, hash, document, created_at) VALUES (?, ?, ?, ?)'),
      labels: db.prepare('SELECT key, value FROM cluster_labels WHERE cluster = ? ORDER BY key'),
      allLabels: db.prepare('SELECT cluster, key, value FROM cluster_labels ORDER BY cluster, key'),
      setLabel: db.prepare(`INSERT INTO cluster_labels (cluster, key, value) VALUES (?, ?, ?)
        ON CONFLICT (cluster, key) DO UPDATE SET value = excluded.value`),
      cluster: db.prepare('SELECT 1 AS ok FROM clusters WHERE id = ?'),
      removeLabel: db.prepare('DELETE FROM cluster_labels WHERE cluster = ? AND key = ?'),
      putStatus: db.prepare(`INSERT INTO rbac_status (cluster, report, reported_at) VALUES (?, ?, ?)
        ON CONFLICT (cluster) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at`),
      statuses: db.prepare('SELECT cluster, report, reported_at FROM rbac_status ORDER BY cluster'),
    };
  }

  async current(): Promise<StoredBaseline | undefined> {
    return this.#current();
  }

  #current(): StoredBaseline | undefined {
    const r = this.#s.current!.get();
    if (!r) return undefined;
    return { revision: Number(r.revision), hash: String(r.hash), document: String(r.document), createdAt: new Date(Number(r.created_at)) };
  }

  async insert(b: StoredBaseline): Promise<boolean> {
    return immediateTransaction(this.#db, () => {
      if ((this.#current()?.revision ?? 0) + 1 !== b.revision) return false;
      this.#s.insert!.run(b.revision, b.hash, b.document, b.createdAt.getTime());
      return true;
    });
  }

  async labels(cluster: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#s.labels!.all(cluster).map((r) => [String(r.key), String(r.value)]));
  }

  async allLabels(): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (const r of this.#s.allLabels!.all()) {
      const id = String(r.cluster);
      out.set(id, { ...out.get(id), [String(r.key)]: String(r.value) });
    }
    return out;
  }

  async updateLabels(cluster: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<boolean> {
    return immediateTransaction(this.#db, () => {
      if (!this.#s.cluster!.get(cluster)) return false;
      for (const key of remove) this.#s.removeLabel!.run(cluster, key);
      for (const [key, value] of Object.entries(set)) this.#s.setLabel!.run(cluster, key, value);
      return true;
    });
  }

  async putStatus(s: StoredRbacStatus): Promise<void> {
    this.#s.putStatus!.run(s.cluster, s.report, s.reportedAt.getTime());
  }

  async statuses(): Promise<StoredRbacStatus[]> {
    return this.#s.statuses!.all().map((r) => ({ cluster: String(r.cluster), report: String(r.report), reportedAt: new Date(Number(r.reported_at)) }));
  }
}
