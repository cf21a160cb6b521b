// Store on Node's built-in node:sqlite, the embedded backend (`broker start --data-dir`).
// WAL with synchronous=FULL, so a commit is durable before the broker answers. The
// contract is asynchronous (a replicated backend needs it); here each method runs to its
// end synchronously inside the returned promise. Every write that must be atomic runs in
// one BEGIN IMMEDIATE transaction, which also re-checks the condition of a conditional
// write (token ids, the active member, the membership epoch), so no request interleaves.
import { immediateTransaction } from './transaction.ts';
import { existsSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { BrokerError } from '../errors.ts';
import type { CatalogStore } from '../catalog/catalog-store.ts';
import type { RbacStore } from '../rbac/rbac-store.ts';
import { SqliteRbacStore } from './sqlite-rbac-store.ts';
import { SqliteUserStore } from './sqlite-user-store.ts';
import type { UserStore } from '../users/user-store.ts';
import { migrate } from './migrations.ts';
import { SqliteCatalogStore } from './sqlite-catalog-store.ts';
import { SqliteCaStore } from './sqlite-ca-store.ts';
import type { CaStore } from '../ca/ca-store.ts';
import { toTokenRecord } from './sqlite-token-row.ts';
import { SqliteAgentReportStore } from './sqlite-agent-report-store.ts';
import type { AgentReportStore } from '../fleet/agent-report-store.ts';
import type { AddTokenResult, ClusterRecord, IssuedCertificate, JoinResult } from '../enroll/enroll-store.ts';
import type { Store } from './store.ts';
import { tokenState, type TokenRecord } from '../enroll/token-record.ts';

type Row = Record<string, unknown>;

const CLUSTER_SELECT = `
  SELECT c.id, c.state, c.epoch, c.joined_at, c.removed_at, x.serial, x.not_after,
    (SELECT json_group_object(key, value) FROM cluster_labels WHERE cluster = c.id) AS labels
  FROM clusters c
  LEFT JOIN certificates x ON x.rowid = (
    SELECT rowid FROM certificates WHERE cluster_id = c.id AND epoch = c.epoch
    ORDER BY issued_at DESC, rowid DESC LIMIT 1)`;

function date(v: unknown): Date | null {
  return v === null || v === undefined ? null : new Date(Number(v));
}

function toCluster(r: Row): ClusterRecord {
  return {
    id: String(r.id),
    state: r.state as ClusterRecord['state'],
    epoch: Number(r.epoch),
    joinedAt: date(r.joined_at)!,
    removedAt: date(r.removed_at),
    certificateSerial: r.serial === null || r.serial === undefined ? null : String(r.serial),
    certificateNotAfter: date(r.not_after),
    labels: JSON.parse(String(r.labels ?? '{}')) as Record<string, string>,
  };
}

function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export class SqliteStore implements Store {
  readonly clusterset: string;
  readonly catalog: CatalogStore;
  readonly rbac: RbacStore;
  readonly users: UserStore;
  readonly ca: CaStore;
  readonly reports: AgentReportStore;
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  /** Creates a new store file for `clusterset`. Fails if the file already holds one. */
  static create(path: string, o: { clusterset: string; now: Date }): SqliteStore {
    const db = openDatabase(path);
    try {
      const existing = db.prepare(`SELECT value FROM meta WHERE key = 'clusterset'`).get();
      if (existing) throw new BrokerError('PLX_BROKER_ALREADY_INITIALIZED', `store ${path} already belongs to clusterset "${String(existing.value)}"`);
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      immediateTransaction(db, () => {
        put.run('clusterset', o.clusterset);
        put.run('created_at', o.now.toISOString());
      });
      return new SqliteStore(db, o.clusterset);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Opens an existing store, migrating its schema forward. */
  static open(path: string): SqliteStore {
    if (!existsSync(path)) throw new BrokerError('PLX_BROKER_NOT_INITIALIZED', `no broker store at ${path}; run "plexus broker init" first`);
    const db = openDatabase(path);
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'clusterset'`).get();
    if (!row) {
      db.close();
      throw new BrokerError('PLX_BROKER_NOT_INITIALIZED', `broker store at ${path} has no clusterset; run "plexus broker init" first`);
    }
    return new SqliteStore(db, String(row.value));
  }

  private constructor(db: DatabaseSync, clusterset: string) {
    this.#db = db;
    this.clusterset = clusterset;
    this.catalog = new SqliteCatalogStore(db);
    this.rbac = new SqliteRbacStore(db);
    this.users = new SqliteUserStore(db);
    this.ca = new SqliteCaStore(db);
    this.reports = new SqliteAgentReportStore(db);
    this.#s = {
      insertToken: db.prepare(`INSERT INTO tokens (id, kind, subject, secret_hash, created_at, expires_at, used_at, revoked_at)
        VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)`),
      getToken: db.prepare('SELECT * FROM tokens WHERE id = ?'),
      listTokens: db.prepare('SELECT * FROM tokens ORDER BY created_at, id'),
      revokeToken: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL'),
      revokeSubjectTokens: db.prepare(`UPDATE tokens SET revoked_at = ?
        WHERE kind = 'cluster' AND subject = ? AND used_at IS NULL AND revoked_at IS NULL`),
      useToken: db.prepare('UPDATE tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL'),
      getCluster: db.prepare(`${CLUSTER_SELECT} WHERE c.id = ?`),
      listClusters: db.prepare(`${CLUSTER_SELECT} ORDER BY c.id`),
      upsertCluster: db.prepare(`INSERT INTO clusters (id, state, epoch, joined_at, removed_at, token_id)
        VALUES (?, 'active', ?, ?, NULL, ?)
        ON CONFLICT (id) DO UPDATE SET state = 'active', epoch = excluded.epoch, joined_at = excluded.joined_at,
          removed_at = NULL, token_id = excluded.token_id`),
      removeCluster: db.prepare(`UPDATE clusters SET state = 'removed', removed_at = ? WHERE id = ? AND state = 'active'`),
      clusterEpoch: db.prepare(`SELECT epoch FROM clusters WHERE id = ? AND state = 'active'`),
      insertCert: db.prepare('INSERT INTO certificates (serial, cluster_id, epoch, issued_at, not_after, issuer) VALUES (?, ?, ?, ?, ?, ?)'),
      isCurrent: db.prepare(`SELECT 1 AS ok FROM certificates x JOIN clusters c ON c.id = x.cluster_id
        WHERE x.serial = ? AND x.cluster_id = ? AND c.state = 'active' AND x.epoch = c.epoch`),
      markPresented: db.prepare('UPDATE certificates SET presented_at = ? WHERE serial = ? AND presented_at IS NULL'),
      newerPresented: db.prepare(`SELECT 1 AS ok FROM certificates x JOIN certificates mine ON mine.serial = ?
        WHERE x.cluster_id = mine.cluster_id AND x.epoch = mine.epoch AND x.presented_at IS NOT NULL
          AND (x.issued_at > mine.issued_at OR (x.issued_at = mine.issued_at AND x.rowid > mine.rowid)) LIMIT 1`),
      latestCert: db.prepare(`SELECT x.serial FROM certificates x JOIN clusters c ON c.id = x.cluster_id
        WHERE x.cluster_id = ? AND c.state = 'active' AND x.epoch = c.epoch ORDER BY x.issued_at DESC, x.rowid DESC LIMIT 1`),
    };
  }

  #tx<T>(fn: () => T): T {
    return immediateTransaction(this.#db, fn);
  }


  #getToken(id: string): TokenRecord | undefined {
    const r = this.#s.getToken!.get(id);
    return r ? toTokenRecord(r) : undefined;
  }

  #getCluster(id: string): ClusterRecord | undefined {
    const r = this.#s.getCluster!.get(id);
    return r ? toCluster(r) : undefined;
  }

  async addToken(t: TokenRecord): Promise<AddTokenResult> {
    return this.#tx((): AddTokenResult => {
      if (this.#getToken(t.id)) return 'id-taken';
      if (t.kind === 'cluster' && this.#getCluster(t.subject)?.state === 'active') return 'cluster-active';
      this.#s.insertToken!.run(t.id, t.kind, t.subject, t.secretHash, t.createdAt.getTime(), t.expiresAt.getTime());
      return 'ok';
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    return this.#getToken(id);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.#s.listTokens!.all().map(toTokenRecord);
  }

  async revokeToken(id: string, at: Date): Promise<TokenRecord | undefined> {
    return this.#tx(() => {
      this.#s.revokeToken!.run(at.getTime(), id);
      return this.#getToken(id);
    });
  }

  async completeJoin(o: { tokenId: string; clusterId: string; certificate: IssuedCertificate; now: Date }): Promise<JoinResult> {
    return this.#tx((): JoinResult => {
      const token = this.#getToken(o.tokenId);
      if (!token || tokenState(token, o.now) !== 'pending') return { ok: false, reason: 'token-not-pending', token };
      const previous = this.#getCluster(o.clusterId);
      if (previous?.state === 'active') return { ok: false, reason: 'cluster-active' };
      const at = o.now.getTime();
      const epoch = (previous?.epoch ?? 0) + 1;
      this.#s.useToken!.run(at, o.tokenId);
      this.#s.upsertCluster!.run(o.clusterId, epoch, at, o.tokenId);
      this.#s.insertCert!.run(o.certificate.serial, o.clusterId, epoch, at, o.certificate.notAfter.getTime(), o.certificate.issuer ?? null);
      return { ok: true, cluster: this.#getCluster(o.clusterId)! };
    });
  }

  async recordRenewal(o: { clusterId: string; epoch: number; certificate: IssuedCertificate; now: Date }): Promise<ClusterRecord | undefined> {
    return this.#tx(() => {
      const row = this.#s.clusterEpoch!.get(o.clusterId);
      if (!row || Number(row.epoch) !== o.epoch) return undefined;
      this.#s.insertCert!.run(o.certificate.serial, o.clusterId, o.epoch, o.now.getTime(), o.certificate.notAfter.getTime(), o.certificate.issuer ?? null);
      return this.#getCluster(o.clusterId);
    });
  }

  async getCluster(id: string): Promise<ClusterRecord | undefined> {
    return this.#getCluster(id);
  }

  async listClusters(): Promise<ClusterRecord[]> {
    return this.#s.listClusters!.all().map(toCluster);
  }

  async removeCluster(id: string, at: Date): Promise<ClusterRecord | undefined> {
    return this.#tx(() => {
      if (!this.#getCluster(id)) return undefined;
      this.#s.removeCluster!.run(at.getTime(), id);
      // A token minted before the removal must not bring the cluster back: rejoining needs a new one.
      this.#s.revokeSubjectTokens!.run(at.getTime(), id);
      return this.#getCluster(id);
    });
  }

  async isCurrentCertificate(clusterId: string, serial: string): Promise<boolean> {
    return this.#s.isCurrent!.get(serial, clusterId) !== undefined;
  }

  async isLatestCertificate(clusterId: string, serial: string): Promise<boolean> {
    return this.#s.latestCert!.get(clusterId)?.serial === serial;
  }

  async markCertificatePresented(serial: string, at: Date): Promise<void> {
    this.#s.markPresented!.run(at.getTime(), serial);
  }

  async isSupersededInUse(serial: string): Promise<boolean> {
    return this.#s.newerPresented!.get(serial) !== undefined;
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** Synchronous close, for `broker init` and cleanup paths that cannot await. */
  closeNow(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
