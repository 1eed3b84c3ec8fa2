import { sql, type Db } from './db.js';

export interface EmailMfaRow {
  account_id: number;
  address: string;
  created_at: number;
  enabled_at: number | null;
}

export function findEmailMfa(db: Db, accountId: number): EmailMfaRow | undefined {
  return sql(db, 'SELECT * FROM email_mfa WHERE account_id = ?').get(accountId) as EmailMfaRow | undefined;
}

export function putPendingEmailMfa(db: Db, accountId: number, address: string, now: number): void {
  sql(
    db,
    `INSERT INTO email_mfa (account_id, address, created_at, enabled_at) VALUES (?, ?, ?, NULL)
     ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, created_at = excluded.created_at, enabled_at = NULL`,
  ).run(accountId, address, now);
}

export function activateEmailMfa(db: Db, accountId: number, now: number): boolean {
  return (
    sql(db, 'UPDATE email_mfa SET enabled_at = ? WHERE account_id = ? AND enabled_at IS NULL').run(now, accountId)
      .changes > 0
  );
}

export function deleteEmailMfa(db: Db, accountId: number): void {
  sql(db, 'DELETE FROM email_mfa WHERE account_id = ?').run(accountId);
}

export interface EmailCodeRow {
  account_id: number;
  purpose: string;
  code_hash: Buffer | null;
  sent_at: number;
  expires_at: number;
  failures: number;
}

export function findEmailCode(db: Db, accountId: number, purpose: string): EmailCodeRow | undefined {
  return sql(db, 'SELECT * FROM email_codes WHERE account_id = ? AND purpose = ?').get(accountId, purpose) as
    EmailCodeRow | undefined;
}

/** A new code replaces the previous one; the failure count carries over. */
export function putEmailCode(
  db: Db,
  accountId: number,
  purpose: string,
  codeHash: Buffer | null,
  now: number,
  expiresAt: number,
): void {
  sql(
    db,
    `INSERT INTO email_codes (account_id, purpose, code_hash, sent_at, expires_at, failures) VALUES (?, ?, ?, ?, ?, 0)
     ON CONFLICT (account_id, purpose) DO UPDATE SET code_hash = excluded.code_hash, sent_at = excluded.sent_at, expires_at = excluded.expires_at`,
  ).run(accountId, purpose, codeHash, now, expiresAt);
}

/** Single use: only the first of two concurrent uses of the same live code changes the row. */
export function consumeEmailCode(db: Db, accountId: number, purpose: string, codeHash: Buffer): boolean {
  return (
    db
      .prepare(
        'UPDATE email_codes SET code_hash = NULL, failures = 0 WHERE account_id = ? AND purpose = ? AND code_hash = ?',
      )
      .run(accountId, purpose, codeHash).changes > 0
  );
}

/** One more wrong try; returns the new count. */
export function addEmailCodeFailure(db: Db, accountId: number, purpose: string): number {
  const row = db
    .prepare('UPDATE email_codes SET failures = failures + 1 WHERE account_id = ? AND purpose = ? RETURNING failures')
    .get(accountId, purpose) as { failures: number } | undefined;
  return row?.failures ?? 0;
}

/** Voids the live code; the next one starts a fresh count of tries. */
export function voidEmailCode(db: Db, accountId: number, purpose: string): void {
  sql(db, 'UPDATE email_codes SET code_hash = NULL, failures = 0 WHERE account_id = ? AND purpose = ?').run(
    accountId,
    purpose,
  );
}

export function deleteEmailCodes(db: Db, accountId: number, purpose: string): void {
  sql(db, 'DELETE FROM email_codes WHERE account_id = ? AND purpose = ?').run(accountId, purpose);
}

export interface RecoveryAddressRow {
  account_id: number;
  address: string;
  created_at: number;
  verified_at: number | null;
}

export function listRecoveryAddresses(db: Db, accountId: number): RecoveryAddressRow[] {
  return sql(db, 'SELECT * FROM recovery_addresses WHERE account_id = ? ORDER BY created_at').all(
    accountId,
  ) as RecoveryAddressRow[];
}

export function putRecoveryAddress(db: Db, accountId: number, address: string, now: number): void {
  sql(
    db,
    'INSERT INTO recovery_addresses (account_id, address, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  ).run(accountId, address, now);
}

export function verifyRecoveryAddress(db: Db, accountId: number, address: string, now: number): boolean {
  return (
    db
      .prepare(
        'UPDATE recovery_addresses SET verified_at = ? WHERE account_id = ? AND address = ? AND verified_at IS NULL',
      )
      .run(now, accountId, address).changes > 0
  );
}

export function deleteRecoveryAddress(db: Db, accountId: number, address: string): boolean {
  return (
    sql(db, 'DELETE FROM recovery_addresses WHERE account_id = ? AND address = ?').run(accountId, address).changes > 0
  );
}

export interface NotificationRow {
  account_id: number;
  format: 'html' | 'text';
  newsletters: string;
  organizations: string;
}

export function getNotificationSettings(db: Db, accountId: number): NotificationRow {
  return (
    (sql(db, 'SELECT * FROM notification_settings WHERE account_id = ?').get(accountId) as
      NotificationRow | undefined) ?? {
      account_id: accountId,
      format: 'html',
      newsletters: '{}',
      organizations: '{}',
    }
  );
}

export function putNotificationSettings(db: Db, row: NotificationRow): void {
  sql(
    db,
    `INSERT INTO notification_settings (account_id, format, newsletters, organizations) VALUES (@account_id, @format, @newsletters, @organizations)
     ON CONFLICT (account_id) DO UPDATE SET format = excluded.format, newsletters = excluded.newsletters, organizations = excluded.organizations`,
  ).run(row);
}

export function deleteAllEmailCodes(db: Db, accountId: number): void {
  sql(db, 'DELETE FROM email_codes WHERE account_id = ?').run(accountId);
}
