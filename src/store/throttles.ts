import { sql, type Db } from './db.js';

export interface ThrottleRow {
  key: string;
  failures: number;
  last_failure_at: number;
}

export function getThrottle(db: Db, key: string): ThrottleRow | undefined {
  return sql(db, 'SELECT * FROM throttles WHERE key = ?').get(key) as ThrottleRow | undefined;
}

/** One more failure, atomically (an UPSERT), returning the new count. */
export function addThrottleFailure(db: Db, key: string, now: number): number {
  const row = db
    .prepare(
      `INSERT INTO throttles (key, failures, last_failure_at) VALUES (?, 1, ?)
       ON CONFLICT (key) DO UPDATE SET failures = failures + 1, last_failure_at = excluded.last_failure_at
       RETURNING failures`,
    )
    .get(key, now) as { failures: number };
  return row.failures;
}

export function clearThrottle(db: Db, key: string): void {
  sql(db, 'DELETE FROM throttles WHERE key = ?').run(key);
}
