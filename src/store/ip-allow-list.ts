import { sql, type Db } from './db.js';

export interface IpEntryRow {
  account_id: number;
  cidr: string;
  created_at: number;
}

export function listIpEntries(db: Db, accountId: number): IpEntryRow[] {
  return sql(db, 'SELECT * FROM ip_allow_list WHERE account_id = ? ORDER BY created_at, cidr').all(
    accountId,
  ) as IpEntryRow[];
}

/** Replaces the whole list: callers run it in a transaction, so a reader sees the old list or the new. */
export function replaceIpEntries(db: Db, accountId: number, rows: { cidr: string; created_at: number }[]): void {
  sql(db, 'DELETE FROM ip_allow_list WHERE account_id = ?').run(accountId);
  const insert = sql(db, 'INSERT INTO ip_allow_list (account_id, cidr, created_at) VALUES (?, ?, ?)');
  for (const r of rows) insert.run(accountId, r.cidr, r.created_at);
}
