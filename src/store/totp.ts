import { sql, type Db } from './db.js';

export interface TotpRow {
  account_id: number;
  secret: Buffer;
  created_at: number;
  enabled_at: number | null;
  pending_expires_at: number | null;
  last_step: number | null;
}

export function findTotp(db: Db, accountId: number): TotpRow | undefined {
  return sql(db, 'SELECT * FROM totp_credentials WHERE account_id = ?').get(accountId) as TotpRow | undefined;
}

/** A pending enrollment replaces any earlier pending one (never an active credential: checked by the caller). */
export function putPendingTotp(db: Db, accountId: number, secret: Buffer, now: number, expiresAt: number): void {
  sql(
    db,
    `INSERT INTO totp_credentials (account_id, secret, created_at, enabled_at, pending_expires_at, last_step)
     VALUES (?, ?, ?, NULL, ?, NULL)
     ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
       enabled_at = NULL, pending_expires_at = excluded.pending_expires_at, last_step = NULL`,
  ).run(accountId, secret, now, expiresAt);
}

export function activateTotp(db: Db, accountId: number, now: number): boolean {
  return (
    db
      .prepare(
        'UPDATE totp_credentials SET enabled_at = ?, pending_expires_at = NULL WHERE account_id = ? AND enabled_at IS NULL',
      )
      .run(now, accountId).changes > 0
  );
}

/**
 * Records `step` as used when it is newer than every step used before; false when it is not (a replay).
 * One UPDATE, so two processes presenting the same code cannot both get `true`.
 */
export function consumeTotpStep(db: Db, accountId: number, step: number): boolean {
  return (
    db
      .prepare(
        'UPDATE totp_credentials SET last_step = ? WHERE account_id = ? AND (last_step IS NULL OR last_step < ?)',
      )
      .run(step, accountId, step).changes > 0
  );
}

export function deleteTotp(db: Db, accountId: number): boolean {
  return sql(db, 'DELETE FROM totp_credentials WHERE account_id = ?').run(accountId).changes > 0;
}
