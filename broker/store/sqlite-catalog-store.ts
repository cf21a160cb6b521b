// CatalogStore on the broker's sqlite database (shares SqliteStore's connection, so WAL
// and synchronous=FULL apply): a commit resolves only after it is durable, and only on the
// head revision it was planned on.
import { immediateTransaction } from './transaction.ts';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type {
  CatalogCommit, CatalogState, CatalogStore, StoredAdvertisement, StoredEvent, StoredExport, StoredLease,
} from '../catalog/catalog-store.ts';

export class SqliteCatalogStore implements CatalogStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = {
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
      exports: db.prepare('SELECT cluster, namespace, name, spec, revision FROM exports'),
      events: db.prepare('SELECT revision, payload FROM events ORDER BY revision'),
      leases: db.prepare('SELECT cluster, available FROM cluster_leases ORDER BY cluster'),
      upsert: db.prepare(`INSERT INTO exports (cluster, namespace, name, spec, revision) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (cluster, namespace, name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision`),
      delete: db.prepare('DELETE FROM exports WHERE cluster = ? AND namespace = ? AND name = ?'),
      event: db.prepare('INSERT INTO events (revision, payload) VALUES (?, ?)'),
      compact: db.prepare('DELETE FROM events WHERE revision <= ?'),
      lease: db.prepare(`INSERT INTO cluster_leases (cluster, available) VALUES (?, ?)
        ON CONFLICT (cluster) DO UPDATE SET available = excluded.available`),
      deleteLease: db.prepare('DELETE FROM cluster_leases WHERE cluster = ?'),
      advertisements: db.prepare('SELECT cluster, body, revision FROM advertisements ORDER BY cluster'),
      advertise: db.prepare(`INSERT INTO advertisements (cluster, body, revision) VALUES (?, ?, ?)
        ON CONFLICT (cluster) DO UPDATE SET body = excluded.body, revision = excluded.revision`),
      deleteAdvertisement: db.prepare('DELETE FROM advertisements WHERE cluster = ?'),
    };
  }

  #meta(key: string): number {
    return Number(this.#s.getMeta!.get(key)?.value ?? 0);
  }

  async load(): Promise<CatalogState> {
    return {
      revision: this.#meta('catalog_revision'),
      compactedThrough: this.#meta('catalog_compacted_through'),
      exports: this.#s.exports!.all().map((r): StoredExport => ({
        cluster: String(r.cluster), namespace: String(r.namespace), name: String(r.name), spec: String(r.spec), revision: Number(r.revision),
      })),
      events: this.#s.events!.all().map((r): StoredEvent => ({ revision: Number(r.revision), payload: String(r.payload) })),
      leases: this.#s.leases!.all().map((r): StoredLease => ({ cluster: String(r.cluster), available: Number(r.available) === 1 })),
      advertisements: this.#s.advertisements!.all().map((r): StoredAdvertisement => ({
        cluster: String(r.cluster), body: String(r.body), revision: Number(r.revision),
      })),
    };
  }

  async commit(c: CatalogCommit): Promise<boolean> {
    const s = this.#s;
    return immediateTransaction(this.#db, () => {
      if (this.#meta('catalog_revision') !== c.after) return false;
      for (const d of c.deletes) s.delete!.run(d.cluster, d.namespace, d.name);
      for (const u of c.upserts) s.upsert!.run(u.cluster, u.namespace, u.name, u.spec, u.revision);
      for (const e of c.events) s.event!.run(e.revision, e.payload);
      for (const l of c.leases ?? []) s.lease!.run(l.cluster, l.available ? 1 : 0);
      for (const id of c.leaseDeletes ?? []) s.deleteLease!.run(id);
      for (const a of c.advertisements ?? []) s.advertise!.run(a.cluster, a.body, a.revision);
      for (const id of c.advertisementDeletes ?? []) s.deleteAdvertisement!.run(id);
      s.setMeta!.run(String(c.revision), 'catalog_revision');
      if (c.compactThrough > this.#meta('catalog_compacted_through')) {
        s.compact!.run(c.compactThrough);
        s.setMeta!.run(String(c.compactThrough), 'catalog_compacted_through');
      }
      return true;
    });
  }
}
