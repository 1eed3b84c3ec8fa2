import { sql, type Db } from './db.js';

// Issue #20 §4: the devices and addresses each account signed in from (keyed hashes, migration 014).

export type SignInSourceKind = 'device' | 'address';

/** Whether the account has any row at all, however old (see service/known-sign-ins.ts). */
export function hasKnownSignIns(db: Db, accountId: number): boolean {
  return sql(db, 'SELECT 1 FROM known_sign_ins WHERE account_id = ? LIMIT 1').get(accountId) !== undefined;
}

/** Whether this fingerprint was seen for the account at or after `since`. */
export function seenSince(
  db: Db,
  accountId: number,
  kind: SignInSourceKind,
  fingerprint: Buffer,
  since: number,
): boolean {
  return (
    sql(
      db,
      'SELECT 1 FROM known_sign_ins WHERE account_id = ? AND kind = ? AND fingerprint = ? AND last_seen_at >= ?',
    ).get(accountId, kind, fingerprint, since) !== undefined
  );
}

export function rememberSignIn(
  db: Db,
  accountId: number,
  kind: SignInSourceKind,
  fingerprint: Buffer,
  now: number,
): void {
  sql(
    db,
    `INSERT INTO known_sign_ins (account_id, kind, fingerprint, last_seen_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (account_id, kind, fingerprint) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
  ).run(accountId, kind, fingerprint, now);
}

/**
 * Forgets the account's rows last seen before `before`, except its most recent one: that one stays as
 * the mark that the account has signed in before, so the next sign-in after a long absence is still
 * judged (and, from a new place, notified) rather than taken for an account's first.
 */
export function pruneKnownSignIns(db: Db, accountId: number, before: number): number {
  return sql(
    db,
    `DELETE FROM known_sign_ins WHERE account_id = ? AND last_seen_at < ?
       AND last_seen_at < (SELECT MAX(k.last_seen_at) FROM known_sign_ins k WHERE k.account_id = ?)`,
  ).run(accountId, before, accountId).changes;
}
