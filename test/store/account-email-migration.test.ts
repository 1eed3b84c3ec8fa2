import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../../src/store/db.js';

// Issue #20 §3: an existing database gets the verified flag right. Addresses already proven (email codes
// activated on it, or equal to a verified recovery address) are verified; every other one is not.

const DIR = new URL('../../src/store/migrations/', import.meta.url);

/** A database as the release before migration 015 left it. */
function oldDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-mig-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const db = new Database(path);
  const files = readdirSync(DIR)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f) && Number(f.slice(0, 3)) < 15)
    .sort();
  for (const f of files) db.exec(readFileSync(new URL(f, DIR), 'utf8'));
  db.pragma(`user_version = ${Number(files.at(-1)!.slice(0, 3))}`);
  const add = db.prepare(
    "INSERT INTO accounts (username, email, role, password_hash, password_changed_at, created_at) VALUES (?, ?, 'user', '!', 1, 1)",
  );
  const id = (name: string, email: string) => Number(add.run(name, email).lastInsertRowid);
  const mfa = id('mfa', 'Mfa@Example.com');
  db.prepare('INSERT INTO email_mfa (account_id, address, created_at, enabled_at) VALUES (?, ?, 1, 5000)').run(
    mfa,
    'mfa@example.com',
  );
  const pending = id('pending', 'pending@example.com');
  db.prepare('INSERT INTO email_mfa (account_id, address, created_at, enabled_at) VALUES (?, ?, 1, NULL)').run(
    pending,
    'pending@example.com',
  );
  const rec = id('recovery', 'Rec@Example.com');
  db.prepare(
    'INSERT INTO recovery_addresses (account_id, address, created_at, verified_at) VALUES (?, ?, 1, 7000)',
  ).run(rec, 'rec@example.com');
  const other = id('other', 'other@example.com');
  db.prepare(
    'INSERT INTO recovery_addresses (account_id, address, created_at, verified_at) VALUES (?, ?, 1, 7000)',
  ).run(other, 'backup@example.org');
  const unverifiedRecovery = id('unverified-recovery', 'ur@example.com');
  db.prepare(
    'INSERT INTO recovery_addresses (account_id, address, created_at, verified_at) VALUES (?, ?, 1, NULL)',
  ).run(unverifiedRecovery, 'ur@example.com');
  id('plain', 'plain@example.com');
  db.close();
  return path;
}

describe('migration 015 (the account email)', () => {
  it('marks proven addresses verified, with the time they were proven, and leaves the rest unverified', () => {
    const db = openStore(oldDatabase(), { create: false });
    try {
      const rows = db.prepare('SELECT username, email_verified_at FROM accounts ORDER BY id').all();
      expect(rows).toEqual([
        { username: 'mfa', email_verified_at: 5000 },
        { username: 'pending', email_verified_at: null },
        { username: 'recovery', email_verified_at: 7000 },
        { username: 'other', email_verified_at: null },
        { username: 'unverified-recovery', email_verified_at: null },
        { username: 'plain', email_verified_at: null },
      ]);
      expect(db.prepare('SELECT count(*) AS n FROM email_changes').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
