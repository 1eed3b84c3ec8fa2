import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS, type Db } from './db.js';

/**
 * A read-only connection of its own to a database another connection keeps up to date (the audit
 * worker's, issue #19 §3): WAL lets it read a snapshot while the writer goes on. It never migrates nor
 * creates anything; the opener that holds the writer did that.
 */
export function openReader(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  db.pragma('query_only = ON');
  return db;
}
