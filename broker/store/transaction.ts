// The store's one way to write: BEGIN IMMEDIATE (take the write lock up front, so a
// transaction never fails halfway on a busy database), run, COMMIT; on any error roll back
// and rethrow, so nothing half-written is ever left behind.
import type { DatabaseSync } from 'node:sqlite';

export function immediateTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
