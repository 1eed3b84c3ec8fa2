import { sql, type Db } from './db.js';

export interface RecoveryCodeRow {
  id: number;
  account_id: number;
  code: Buffer;
  created_at: number;
  used_at: number | null;
}

export function unusedRecoveryCodes(db: Db, accountId: number): RecoveryCodeRow[] {
  return sql(db, 'SELECT * FROM recovery_codes WHERE account_id = ? AND used_at IS NULL ORDER BY id').all(
    accountId,
  ) as RecoveryCodeRow[];
}

export function countUnusedRecoveryCodes(db: Db, accountId: number): number {
  return (
    sql(db, 'SELECT count(*) AS n FROM recovery_codes WHERE account_id = ? AND used_at IS NULL').get(accountId) as {
      n: number;
    }
  ).n;
}

export function countRecoveryCodes(db: Db, accountId: number): number {
  return (sql(db, 'SELECT count(*) AS n FROM recovery_codes WHERE account_id = ?').get(accountId) as { n: number }).n;
}

export function insertRecoveryCode(db: Db, accountId: number, sealed: Buffer, now: number): void {
  sql(db, 'INSERT INTO recovery_codes (account_id, code, created_at) VALUES (?, ?, ?)').run(accountId, sealed, now);
}

/** Single use even under concurrency: only the first UPDATE of an unused code changes a row. */
export function markRecoveryCodeUsed(db: Db, id: number, now: number): boolean {
  return sql(db, 'UPDATE recovery_codes SET used_at = ? WHERE id = ? AND used_at IS NULL').run(now, id).changes > 0;
}

export function deleteRecoveryCodes(db: Db, accountId: number): number {
  return sql(db, 'DELETE FROM recovery_codes WHERE account_id = ?').run(accountId).changes;
}
