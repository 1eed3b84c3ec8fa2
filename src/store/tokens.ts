import { sql, writeIfFree, type Db } from './db.js';

export interface TokenRow {
  id: string;
  account_id: number;
  kind: 'token' | 'apikey';
  name: string;
  token_hash: Buffer;
  scopes: string;
  resources: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
}

export function insertToken(db: Db, row: Omit<TokenRow, 'revoked_at' | 'last_used_at' | 'last_used_ip'>): void {
  sql(
    db,
    `INSERT INTO tokens (id, account_id, kind, name, token_hash, scopes, resources, created_at, expires_at)
     VALUES (@id, @account_id, @kind, @name, @token_hash, @scopes, @resources, @created_at, @expires_at)`,
  ).run(row);
}

/** The lookup of every check: one probe of the unique index on the hash. */
export function findTokenByHash(db: Db, hash: Buffer): TokenRow | undefined {
  return sql(db, 'SELECT * FROM tokens WHERE token_hash = ?').get(hash) as TokenRow | undefined;
}

export function listTokens(db: Db, accountId: number, kind: 'token' | 'apikey'): TokenRow[] {
  return sql(db, 'SELECT * FROM tokens WHERE account_id = ? AND kind = ? ORDER BY created_at DESC').all(
    accountId,
    kind,
  ) as TokenRow[];
}

export function findLiveToken(
  db: Db,
  accountId: number,
  kind: 'token' | 'apikey',
  idOrName: string,
): TokenRow | undefined {
  return db
    .prepare('SELECT * FROM tokens WHERE account_id = ? AND kind = ? AND revoked_at IS NULL AND (id = ? OR name = ?)')
    .get(accountId, kind, idOrName, idOrName) as TokenRow | undefined;
}

export function revokeToken(db: Db, id: string, now: number): boolean {
  return sql(db, 'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes > 0;
}

/** The last use of a token: bookkeeping, skipped when another process holds the write lock. */
export function recordTokenUse(db: Db, id: string, now: number, ip: string | null): boolean {
  return writeIfFree(db, () =>
    sql(db, 'UPDATE tokens SET last_used_at = ?, last_used_ip = ? WHERE id = ?').run(now, ip, id),
  );
}

/** What introspection needs of a token, its account and its IP list: no more (every column costs per check). */
export interface TokenCheckRow {
  id: string;
  account_id: number;
  kind: 'token' | 'apikey';
  scopes: string;
  resources: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  username: string;
  locked_at: number | null;
  /** 1 when the account has an IP allow-list (only then is the caller's address checked). */
  restricted: number;
}

/** The whole introspection lookup in one indexed query: the token, its account, and its IP list's existence. */
export function findTokenForCheck(db: Db, hash: Buffer): TokenCheckRow | undefined {
  return sql(
    db,
    `SELECT t.id, t.account_id, t.kind, t.scopes, t.resources, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.last_used_ip,
       a.username, a.locked_at,
       CASE WHEN EXISTS (SELECT 1 FROM ip_allow_list i WHERE i.account_id = t.account_id) THEN 1 ELSE 0 END AS restricted
     FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = ?`,
  ).get(hash) as TokenCheckRow | undefined;
}

/** The counter migration 008's triggers move on every change an introspection answer depends on. */
export function changeGeneration(db: Db): number {
  if (pinned !== undefined && pinned.db === db) return pinned.n;
  return sql(db, 'SELECT n FROM change_generation WHERE id = 1').pluck().get() as number;
}

/** The counter as read once for a batch of introspections (withOneGeneration), while the batch runs. */
let pinned: { db: Db; n: number } | undefined;

/**
 * Runs `fn` (synchronous) with the counter read once, on entry: every changeGeneration(db) inside
 * answers that read. Only for calls that never move the counter themselves (introspection writes
 * last_used_* alone, which the triggers leave out); a nested call keeps the outer read.
 */
export function withOneGeneration<T>(db: Db, fn: () => T): T {
  if (pinned !== undefined) return fn();
  pinned = { db, n: changeGeneration(db) };
  try {
    return fn();
  } finally {
    pinned = undefined;
  }
}
