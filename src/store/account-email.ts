import { sql, type Db } from './db.js';

// The account's own address (issue #20 §3): its verification, and a change waiting for its code.

export interface EmailChangeRow {
  account_id: number;
  address: string;
  requested_at: number;
  requested_by: string | null;
}

export function findEmailChange(db: Db, accountId: number): EmailChangeRow | undefined {
  return sql(db, 'SELECT * FROM email_changes WHERE account_id = ?').get(accountId) as EmailChangeRow | undefined;
}

/** A new request replaces the one before it: one pending address per account. */
export function putEmailChange(db: Db, row: EmailChangeRow): void {
  sql(
    db,
    `INSERT INTO email_changes (account_id, address, requested_at, requested_by) VALUES (@account_id, @address, @requested_at, @requested_by)
     ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, requested_at = excluded.requested_at, requested_by = excluded.requested_by`,
  ).run(row);
}

export function deleteEmailChange(db: Db, accountId: number): boolean {
  return sql(db, 'DELETE FROM email_changes WHERE account_id = ?').run(accountId).changes > 0;
}

/**
 * Applies a confirmed change: compare-and-set on the pending address, so of two concurrent
 * confirmations, or a confirmation racing a new request, only the one that matches takes effect.
 */
export function applyEmailChange(db: Db, accountId: number, address: string, now: number): boolean {
  const gone = sql(db, 'DELETE FROM email_changes WHERE account_id = ? AND address = ?').run(accountId, address);
  if (gone.changes === 0) return false;
  sql(db, 'UPDATE accounts SET email = ?, email_verified_at = ? WHERE id = ?').run(address, now, accountId);
  return true;
}

/** Marks the current address verified, only if it is still `address` (it may have changed meanwhile). */
export function markEmailVerified(db: Db, accountId: number, address: string, now: number): boolean {
  return (
    sql(db, 'UPDATE accounts SET email_verified_at = ? WHERE id = ? AND email = ? AND email_verified_at IS NULL').run(
      now,
      accountId,
      address,
    ).changes > 0
  );
}

/** Email codes at sign-in follow the account's address when it changes (the new one was just proven). */
export function moveEmailMfaAddress(db: Db, accountId: number, address: string): void {
  sql(db, 'UPDATE email_mfa SET address = ? WHERE account_id = ?').run(address, accountId);
}

/** Every outstanding code for the account's address, whatever address it was sent to. */
export function deleteAccountEmailCodes(db: Db, accountId: number, prefix: string): void {
  sql(db, 'DELETE FROM email_codes WHERE account_id = ? AND substr(purpose, 1, length(?)) = ?').run(
    accountId,
    prefix,
    prefix,
  );
}
