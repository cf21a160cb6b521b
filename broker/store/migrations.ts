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
  // 6: CA rollover (broker/ca/). Root certificates and where their keys live, the one-row
  // rollover state, its history (for `ca status` and rollback), each cluster's last
  // acknowledged trust bundle, and which root issued each cluster certificate (NULL: the
  // first root, filled in when the broker first starts on this version).
  `
  CREATE TABLE ca_roots (
    generation  INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    cert_pem    TEXT NOT NULL,
    key_file    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    in_bundle   INTEGER NOT NULL CHECK (in_bundle IN (0, 1)),
    issued      INTEGER NOT NULL DEFAULT 0 CHECK (issued IN (0, 1))
  ) STRICT;
  CREATE TABLE ca_rollover (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    phase              INTEGER NOT NULL CHECK (phase BETWEEN 0 AND 5),
    issuing_generation INTEGER NOT NULL REFERENCES ca_roots (generation),
    old_generation     INTEGER REFERENCES ca_roots (generation),
    new_generation     INTEGER REFERENCES ca_roots (generation),
    issuing_since      INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE ca_history (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('advance', 'rollback')),
    from_phase INTEGER NOT NULL,
    to_phase   INTEGER NOT NULL,
    forced INTEGER NOT NULL CHECK (forced IN (0, 1)),
    detail TEXT NOT NULL
  ) STRICT;
  CREATE TABLE trust_bundle_acks (
    cluster      TEXT PRIMARY KEY,
    fingerprints TEXT NOT NULL,
    acked_at     INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  ALTER TABLE certificates ADD COLUMN issuer TEXT;
  `,
  // 7: each agent's last lease report (version, imports) for the fleet views.
  `
  CREATE TABLE agent_reports (
    cluster     TEXT PRIMARY KEY,
    report      TEXT NOT NULL,
    reported_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  // 8: when each cluster certificate was first presented. A certificate renews only while no
  // newer one of its cluster has been used: a superseded (stolen) certificate dies, and an
  // agent whose renewal answer was lost can still renew with the certificate it holds.
  `
  ALTER TABLE certificates ADD COLUMN presented_at INTEGER;
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
