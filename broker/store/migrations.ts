// Schema migrations for the sqlite store, tracked by PRAGMA user_version. Append only:
// never edit a released migration, add the next one.
import { immediateTransaction } from './transaction.ts';
import type { DatabaseSync } from 'node:sqlite';
import { BrokerError } from '../errors.ts';

export const migrations: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('cluster', 'user')),
    subject     TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
  ) STRICT;
  CREATE INDEX tokens_subject ON tokens (kind, subject);
  CREATE TABLE clusters (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('active', 'removed')),
    epoch      INTEGER NOT NULL,
    joined_at  INTEGER NOT NULL,
    removed_at INTEGER,
    token_id   TEXT REFERENCES tokens (id)
  ) STRICT;
  CREATE TABLE certificates (
    serial     TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    epoch      INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    not_after  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX certificates_cluster ON certificates (cluster_id, epoch, issued_at);
  `,
  // 2: the service catalog. The revision counter lives in meta and moves in the same
  // transaction as the exports and the events it numbers.
  `
  CREATE TABLE exports (
    cluster   TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    spec      TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    PRIMARY KEY (cluster, namespace, name)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE events (
    revision INTEGER PRIMARY KEY,
    payload  TEXT NOT NULL
  ) STRICT;
  CREATE TABLE cluster_leases (
    cluster   TEXT PRIMARY KEY,
    available INTEGER NOT NULL CHECK (available IN (0, 1))
  ) STRICT;
  INSERT INTO meta (key, value) VALUES ('catalog_revision', '0'), ('catalog_compacted_through', '0');
  `,
  // 3: cluster advertisements (zone, region, probe URL, measured RTTs). Written in the same
  // transaction as the catalog event that announces them, so they share its revision.
  `
  CREATE TABLE advertisements (
    cluster  TEXT PRIMARY KEY,
    body     TEXT NOT NULL,
    revision INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  // 4: the central RBAC baseline: append-only revisions, admin-set cluster labels that
  // target it, and each agent's last status report (what it applied, clashes, drift).
  `
  CREATE TABLE rbac_baselines (
    revision   INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE cluster_labels (
    cluster TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (cluster, key)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE rbac_status (
    cluster     TEXT PRIMARY KEY,
    report      TEXT NOT NULL,
    reported_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  // 5: shared identities of people. Invitations are kind-'user' tokens; the groups each
  // one was minted with sit beside it. Revocation is by name and final.
  `
  CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    groups     TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('invited', 'active', 'revoked')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE user_invites (
    token_id TEXT PRIMARY KEY REFERENCES tokens (id),
    groups   TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  // 6: reserved for a change being made in parallel: replace this empty step with it (no
  // released store has passed version 5 yet), so that version 7 below keeps its number.
  '',
  // 7: each agent's last lease report (version, imports) for the fleet views.
  `
  CREATE TABLE agent_reports (
    cluster     TEXT PRIMARY KEY,
    report      TEXT NOT NULL,
    reported_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
];

export function migrate(db: DatabaseSync): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  const current = row.user_version;
  if (current > migrations.length) {
    throw new BrokerError('PLX_BROKER_INTERNAL', `store schema version ${current} is newer than this broker (${migrations.length})`);
  }
  for (let v = current; v < migrations.length; v++) {
    try {
      immediateTransaction(db, () => {
        db.exec(migrations[v]!);
        db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    } catch (e) {
      throw new BrokerError('PLX_BROKER_INTERNAL', `store migration to version ${v + 1} failed`, { cause: e });
    }
  }
}
