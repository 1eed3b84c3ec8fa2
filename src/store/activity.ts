import { sql, type Db } from './db.js';

export interface ActivityRow {
  id: number;
  account_id: number;
  at: number;
  event: string;
  detail: string | null;
  ip: string | null;
  session_id: string | null;
}

export function insertActivity(db: Db, row: Omit<ActivityRow, 'id'>): void {
  sql(
    db,
    'INSERT INTO activity (account_id, at, event, detail, ip, session_id) VALUES (@account_id, @at, @event, @detail, @ip, @session_id)',
  ).run(row);
}

/** Newest first. */
export function listActivity(db: Db, accountId: number, limit: number): ActivityRow[] {
  return sql(db, 'SELECT * FROM activity WHERE account_id = ? ORDER BY id DESC LIMIT ?').all(
    accountId,
    limit,
  ) as ActivityRow[];
}
