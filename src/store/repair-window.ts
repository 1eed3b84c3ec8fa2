import { sql, type Db } from './db.js';

// Issue #20 §2: the repair window of a session (sessions.repair_until, migration 014).

/** Sets the window's end once: a session that has one keeps it (it is never extended). */
export function openSessionRepairWindow(db: Db, sessionId: string, until: number): boolean {
  return (
    sql(db, 'UPDATE sessions SET repair_until = ? WHERE id = ? AND repair_until IS NULL').run(until, sessionId)
      .changes > 0
  );
}
