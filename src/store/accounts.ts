import { sql, type Db } from './db.js';

export type Role = 'user' | 'support' | 'admin';

export interface AccountRow {
  id: number;
  username: string;
  email: string;
  role: Role;
  password_hash: string;
  password_changed_at: number;
  created_at: number;
  locked_at: number | null;
  /** Issue #20 §3: when the address was proven by a code sent to it; NULL while unverified. */
  email_verified_at: number | null;
}

export interface NewAccount {
  username: string;
  email: string;
  role: Role;
  passwordHash: string;
  now: number;
}

export function insertAccount(db: Db, a: NewAccount): number {
  // RETURNING, not lastInsertRowid: the same statement gives the new id on PostgreSQL.
  const row = sql(
    db,
    `INSERT INTO accounts (username, email, role, password_hash, password_changed_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
  ).get(a.username, a.email, a.role, a.passwordHash, a.now, a.now) as { id: number };
  return row.id;
}

export function countAccounts(db: Db): number {
  return (sql(db, 'SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
}

export function findAccountByUsername(db: Db, username: string): AccountRow | undefined {
  return sql(db, 'SELECT * FROM accounts WHERE username = ?').get(username) as AccountRow | undefined;
}

export function findAccountById(db: Db, id: number): AccountRow | undefined {
  return sql(db, 'SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow | undefined;
}

/** A new password: hash and change date together. */
export function setPassword(db: Db, id: number, passwordHash: string, changedAt: number): void {
  sql(db, 'UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?').run(
    passwordHash,
    changedAt,
    id,
  );
}

/** The same password re-hashed with stronger parameters: the change date stays. */
export function replacePasswordHash(db: Db, id: number, oldHash: string, newHash: string): void {
  // Compare-and-set, so a concurrent password change is never overwritten by an upgrade of the old one.
  sql(db, 'UPDATE accounts SET password_hash = ? WHERE id = ? AND password_hash = ?').run(newHash, id, oldHash);
}

export function setUsername(db: Db, id: number, username: string): void {
  sql(db, 'UPDATE accounts SET username = ? WHERE id = ?').run(username, id);
}
