import type { AccountRow, Role } from './accounts.js';
import { isPostgres, sql, type Db } from './db.js';

export interface ResetTokenRow {
  id: number;
  account_id: number;
  token_hash: Buffer;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export function insertResetToken(db: Db, accountId: number, hash: Buffer, now: number, expiresAt: number): void {
  sql(db, 'INSERT INTO reset_tokens (account_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
    accountId,
    hash,
    now,
    expiresAt,
  );
}

export function findResetToken(db: Db, hash: Buffer): ResetTokenRow | undefined {
  return sql(db, 'SELECT * FROM reset_tokens WHERE token_hash = ?').get(hash) as ResetTokenRow | undefined;
}

/** Single use: of two concurrent uses, one changes the row. */
export function useResetToken(db: Db, id: number, now: number): boolean {
  return sql(db, 'UPDATE reset_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL').run(now, id).changes > 0;
}

/** A new reset voids the account's earlier unused tokens. */
export function voidResetTokens(db: Db, accountId: number, now: number): void {
  sql(db, 'UPDATE reset_tokens SET used_at = ? WHERE account_id = ? AND used_at IS NULL').run(now, accountId);
}

export function countActiveAdmins(db: Db): number {
  return (
    sql(db, "SELECT count(*) AS n FROM accounts WHERE role = 'admin' AND locked_at IS NULL").get() as { n: number }
  ).n;
}

export function setRole(db: Db, accountId: number, role: Role): void {
  sql(db, 'UPDATE accounts SET role = ? WHERE id = ?').run(role, accountId);
}

export function setLocked(db: Db, accountId: number, lockedAt: number | null): void {
  sql(db, 'UPDATE accounts SET locked_at = ? WHERE id = ?').run(lockedAt, accountId);
}

/**
 * One page of accounts in name order, after `after` (issue #19 §3): `admin users list` reads pages with
 * the event loop free between them, and no cursor is left open on the connection meanwhile.
 */
export function accountsPage(db: Db, role: Role | undefined, after: string | undefined, limit: number): AccountRow[] {
  return (
    role
      ? sql(db, 'SELECT * FROM accounts WHERE role = ? AND username > ? ORDER BY username LIMIT ?').all(
          role,
          after ?? '',
          limit,
        )
      : sql(db, 'SELECT * FROM accounts WHERE username > ? ORDER BY username LIMIT ?').all(after ?? '', limit)
  ) as AccountRow[];
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  target: string | null;
  action: string;
  reason: string;
  outcome: string;
  ip: string | null;
  detail: string | null;
  prev_hash: string;
  /** The row's SHA-256 ('sha256' rows, before migration 009) or HMAC-SHA-256 ('hmac-sha256'), hex. */
  hash: string;
  chain: string;
}

export function lastAuditRow(db: Db): AuditRow | undefined {
  return sql(db, 'SELECT * FROM audit_log ORDER BY id DESC LIMIT 1').get() as AuditRow | undefined;
}

/** The id is given: the row's MAC covers its sequence number. */
export function insertAuditRow(db: Db, row: AuditRow): void {
  sql(
    db,
    'INSERT INTO audit_log (id, at, actor, target, action, reason, outcome, ip, detail, prev_hash, hash, chain) VALUES (@id, @at, @actor, @target, @action, @reason, @outcome, @ip, @detail, @prev_hash, @hash, @chain)',
  ).run(row);
}

export function findAuditRow(db: Db, id: number): AuditRow | undefined {
  return sql(db, 'SELECT * FROM audit_log WHERE id = ?').get(id) as AuditRow | undefined;
}

/** The triggers on the audit table, by name, with their SQL as the schema holds it. */
export function auditTriggers(db: Db): Map<string, string> {
  if (isPostgres(db)) {
    // PostgreSQL's form: the trigger's definition, whether it is enabled (O: origin and local) and the
    // body of the function it runs; the schema prefix is dropped (a search_path may or may not show it).
    const rows = sql(
      db,
      `SELECT t.tgname AS name, pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text || ' ' || p.prosrc AS sql
         FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE t.tgrelid = to_regclass('audit_log') AND NOT t.tgisinternal`,
    ).all() as { name: string; sql: string }[];
    return new Map(rows.map((r) => [r.name, r.sql.replace(/ ON \w+\.audit_log /, ' ON audit_log ')]));
  }
  const rows = sql(
    db,
    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'",
  ).all() as { name: string; sql: string }[];
  return new Map(rows.map((r) => [r.name, r.sql]));
}

/** An actor's refusals after `since`, oldest first (a handful at most: only that many are recorded). */
export function recentRefusalTimes(db: Db, actor: string, since: number): number[] {
  return (
    sql(db, "SELECT at FROM audit_log WHERE actor = ? AND outcome = 'refused' AND at > ? ORDER BY at").all(
      actor,
      since,
    ) as { at: number }[]
  ).map((r) => r.at);
}

export function* iterateAudit(db: Db, pageSize = AUDIT_PAGE): Generator<AuditRow> {
  // In pages by id, not one statement: PostgreSQL's adapter reads a statement's rows all at once (half a
  // million rows would take hundreds of MiB), and one statement over millions of rows would pass its
  // statement timeout. The caller reads in one snapshot (a read transaction), so the pages agree.
  // The first page has no lower bound: a row slipped in with an id of 0 or below is walked too.
  let rows = sql(db, 'SELECT * FROM audit_log ORDER BY id LIMIT ?').all(pageSize) as AuditRow[];
  const next = sql(db, 'SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
  for (;;) {
    yield* rows;
    if (rows.length < pageSize) return;
    rows = next.all(rows[rows.length - 1]!.id, pageSize) as AuditRow[];
  }
}

/** Rows read per statement by the audit walk. */
export const AUDIT_PAGE = 2000;

/**
 * The newest rows that pass the filters, newest first by time, then by sequence (issue #19 §3). The
 * SQL names only the filters given: a `(@x IS NULL OR x = @x)` form keeps SQLite from using an index.
 * Each filter has an index ending in `at` (migration 011) that SQLite walks from the top, stopping at
 * the limit or at --since, so a listing reads about `limit` rows whatever the log's size. Ordering by
 * `at` is ordering by id: a row's time is read inside the write lock that gives it its id
 * (appendAudit); only a wall clock stepped back could tell them apart, and then time order is the one
 * a reader of "newest first" means.
 */
export function queryAudit(
  db: Db,
  filter: { target?: string; actor?: string; since?: number; limit: number },
): AuditRow[] {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: filter.limit };
  if (filter.target !== undefined) {
    where.push('target = @target');
    params.target = filter.target;
  }
  if (filter.actor !== undefined) {
    // With a target too, the target's index leads (an expression, not the bare column, keeps SQLite off
    // the actor's; SQLite's unary + on text does not exist in PostgreSQL): an account has few rows, a
    // staff member may have written most of the log.
    where.push(filter.target !== undefined ? "actor || '' = @actor" : 'actor = @actor');
    params.actor = filter.actor;
  }
  if (filter.since !== undefined) {
    where.push('at >= @since');
    params.since = filter.since;
  }
  return sql(
    db,
    `SELECT * FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT @limit`,
  ).all(params) as AuditRow[];
}
