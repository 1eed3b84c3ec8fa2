import { sql, writeIfFree, type Db } from './db.js';

export interface SessionRow {
  id: string;
  account_id: number;
  token_hash: Buffer;
  created_at: number;
  last_seen_at: number;
  authenticated_at: number;
  expires_at: number;
  client: string | null;
  ip: string | null;
  revoked_at: number | null;
  /** Issue #20 §2: the end of the repair window opened by a recovery-code sign-in (migration 014). */
  repair_until?: number | null;
}

export function insertSession(db: Db, row: Omit<SessionRow, 'revoked_at' | 'repair_until'>): void {
  sql(
    db,
    `INSERT INTO sessions (id, account_id, token_hash, created_at, last_seen_at, authenticated_at, expires_at, client, ip)
     VALUES (@id, @account_id, @token_hash, @created_at, @last_seen_at, @authenticated_at, @expires_at, @client, @ip)`,
  ).run(row);
}

/** Looked up by the SHA-256 of the token through the unique index: the token itself is never stored. */
export function findSessionByTokenHash(db: Db, tokenHash: Buffer): SessionRow | undefined {
  return sql(db, 'SELECT * FROM sessions WHERE token_hash = ?').get(tokenHash) as SessionRow | undefined;
}

/** The last use of a session: bookkeeping, skipped when another process holds the write lock. */
export function touchSession(db: Db, id: string, now: number): void {
  writeIfFree(db, () => sql(db, 'UPDATE sessions SET last_seen_at = ? WHERE id = ?').run(now, id));
}

export function markSessionAuthenticated(db: Db, id: string, now: number): void {
  sql(db, 'UPDATE sessions SET authenticated_at = ?, last_seen_at = ? WHERE id = ?').run(now, now, id);
}

/** Sessions not revoked and not past their absolute expiry; idle expiry is judged by the service. */
export function listLiveSessions(db: Db, accountId: number, now: number): SessionRow[] {
  return db
    .prepare(
      'SELECT * FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC',
    )
    .all(accountId, now) as SessionRow[];
}

/** Returns whether a live session of that account was revoked. */
export function revokeSession(db: Db, accountId: number, id: string, now: number): boolean {
  return (
    sql(db, 'UPDATE sessions SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL').run(
      now,
      id,
      accountId,
    ).changes > 0
  );
}

/** Revokes every session of the account but `keepId` (all of them when it is null); returns how many. */
export function revokeSessionsExcept(db: Db, accountId: number, keepId: string | null, now: number): number {
  return db
    .prepare('UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL AND id IS DISTINCT FROM ?')
    .run(now, accountId, keepId).changes;
}
