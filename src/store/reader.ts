import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Unavailable } from '../errors.js';
import { BUSY_TIMEOUT_MS, type Db, nativeBinding } from './db.js';
import { isPostgresUrl } from '../database-url.js';
import { PgDatabase } from './pg.js';

/**
 * A read-only connection of its own to a database another connection keeps up to date (the audit
 * worker's, issue #19 §3): WAL lets it read a snapshot while the writer goes on. It never migrates nor
 * creates anything; the opener that holds the writer did that.
 */
export function openReader(path: string, expected?: { dev: number; ino: number }): Db {
  // PostgreSQL: a read-only session; its transactions are one snapshot each (REPEATABLE READ).
  if (isPostgresUrl(path))
    return new PgDatabase(path, { readonly: true, busyTimeoutMs: BUSY_TIMEOUT_MS }) as unknown as Db;
  // The path is opened by name: with `expected` (the file the writer has open), a file removed or
  // swapped in at the path before or while this opens is refused, as the writer refuses it.
  const same = () => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st !== undefined && st.dev === expected!.dev && st.ino === expected!.ino;
  };
  if (expected && !same()) throw replaced(path);
  const db = new Database(path, {
    readonly: true,
    fileMustExist: true,
    timeout: BUSY_TIMEOUT_MS,
    nativeBinding: nativeBinding(),
  });
  if (expected && !same()) {
    db.close();
    throw replaced(path);
  }
  db.pragma('query_only = ON');
  return db;
}

function replaced(path: string): Unavailable {
  return new Unavailable(
    `the database file ${path} was removed or replaced while it was open: nothing more is read from it; restart acctsec serve (and restore the file if it was lost)`,
    'store_replaced',
  );
}
