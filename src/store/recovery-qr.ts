import { sql, type Db } from './db.js';

// Recovery QR codes and the phone's approval requests (issue #20 §1; migration 013).

export interface RecoveryQrRow {
  id: number;
  account_id: number;
  secret_hash: Buffer;
  created_at: number;
  used_at: number | null;
  voided_at: number | null;
}

export interface QrRequestRow {
  id: string;
  handle_hash: Buffer;
  account_id: number | null;
  phrase: string;
  ip: string | null;
  client: string | null;
  created_at: number;
  expires_at: number;
  approved_at: number | null;
  approved_ip: string | null;
  qr_id: number | null;
  finished_at: number | null;
}

/** Voids the live code, if any, and stores the new one: one live code per account. */
export function replaceRecoveryQr(db: Db, accountId: number, secretHash: Buffer, now: number): void {
  sql(db, 'UPDATE recovery_qr SET voided_at = ? WHERE account_id = ? AND used_at IS NULL AND voided_at IS NULL').run(
    now,
    accountId,
  );
  sql(db, 'INSERT INTO recovery_qr (account_id, secret_hash, created_at) VALUES (?, ?, ?)').run(
    accountId,
    secretHash,
    now,
  );
}

export function liveRecoveryQr(db: Db, accountId: number): RecoveryQrRow | undefined {
  return sql(db, 'SELECT * FROM recovery_qr WHERE account_id = ? AND used_at IS NULL AND voided_at IS NULL').get(
    accountId,
  ) as RecoveryQrRow | undefined;
}

/** The live code holding this secret's hash (one probe of the unique index). */
export function findLiveRecoveryQrByHash(db: Db, secretHash: Buffer): RecoveryQrRow | undefined {
  return sql(db, 'SELECT * FROM recovery_qr WHERE secret_hash = ? AND used_at IS NULL AND voided_at IS NULL').get(
    secretHash,
  ) as RecoveryQrRow | undefined;
}

export function voidRecoveryQr(db: Db, accountId: number, now: number): boolean {
  return (
    sql(db, 'UPDATE recovery_qr SET voided_at = ? WHERE account_id = ? AND used_at IS NULL AND voided_at IS NULL').run(
      now,
      accountId,
    ).changes > 0
  );
}

/** Takes the code once: false when it was used or voided meanwhile (single use under concurrency). */
export function useRecoveryQr(db: Db, id: number, now: number): boolean {
  return (
    sql(db, 'UPDATE recovery_qr SET used_at = ? WHERE id = ? AND used_at IS NULL AND voided_at IS NULL').run(now, id)
      .changes > 0
  );
}

export function insertQrRequest(
  db: Db,
  row: Omit<QrRequestRow, 'approved_at' | 'approved_ip' | 'qr_id' | 'finished_at'>,
): void {
  // Old requests are of no use to anyone: they go as new ones start.
  sql(db, 'DELETE FROM recovery_qr_requests WHERE expires_at < ?').run(row.created_at - 60 * 60_000);
  sql(
    db,
    `INSERT INTO recovery_qr_requests (id, handle_hash, account_id, phrase, ip, client, created_at, expires_at)
     VALUES (@id, @handle_hash, @account_id, @phrase, @ip, @client, @created_at, @expires_at)`,
  ).run(row);
}

/** Requests from one client address still waiting (indexed by migration 017). */
export function countWaitingQrRequestsFrom(db: Db, ip: string, now: number): number {
  return (
    sql(
      db,
      'SELECT count(*) AS n FROM recovery_qr_requests WHERE ip = ? AND expires_at > ? AND finished_at IS NULL',
    ).get(ip, now) as { n: number }
  ).n;
}

export function findQrRequestByHandle(db: Db, handleHash: Buffer): QrRequestRow | undefined {
  return sql(db, 'SELECT * FROM recovery_qr_requests WHERE handle_hash = ?').get(handleHash) as
    QrRequestRow | undefined;
}

/**
 * The account's requests still waiting for approval, newest first. Anyone can open requests for a
 * username: the page lists up to 50, so a few made to bury the owner's push nothing out of sight.
 */
export function pendingQrRequests(db: Db, accountId: number, now: number): QrRequestRow[] {
  return sql(
    db,
    `SELECT * FROM recovery_qr_requests WHERE account_id = ? AND expires_at > ? AND approved_at IS NULL
     ORDER BY created_at DESC LIMIT 50`,
  ).all(accountId, now) as QrRequestRow[];
}

/** Approves a waiting request of this account; false when there is none by that id (made up, expired, approved). */
export function approveQrRequest(
  db: Db,
  id: string,
  code: { id: number; account_id: number },
  ip: string | null,
  now: number,
): boolean {
  return (
    sql(
      db,
      `UPDATE recovery_qr_requests SET approved_at = ?, approved_ip = ?, qr_id = ?
       WHERE id = ? AND account_id = ? AND approved_at IS NULL AND expires_at > ?`,
    ).run(now, ip, code.id, id, code.account_id, now).changes > 0
  );
}

/** Finishes an approved request once: false when it was finished meanwhile. */
export function finishQrRequest(db: Db, id: string, now: number): boolean {
  return (
    sql(
      db,
      'UPDATE recovery_qr_requests SET finished_at = ? WHERE id = ? AND approved_at IS NOT NULL AND finished_at IS NULL AND expires_at > ?',
    ).run(now, id, now).changes > 0
  );
}
