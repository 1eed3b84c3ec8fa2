import { sql, type Db } from './db.js';

// What oidc-provider stores through its adapter, and the keys that sign ID tokens (issue #21,
// migration 018). Rows are keyed by the SHA-256 of the id; payloads arrive sealed.

export interface OAuthPayloadRow {
  model: string;
  id_hash: Buffer;
  payload: Buffer;
  grant_id: string | null;
  user_code_hash: Buffer | null;
  uid: string | null;
  client_id: string | null;
  account_id: number | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export function upsertOAuthPayload(db: Db, row: OAuthPayloadRow): void {
  sql(
    db,
    `INSERT INTO oauth_payloads
       (model, id_hash, payload, grant_id, user_code_hash, uid, client_id, account_id, expires_at, consumed_at)
     VALUES (@model, @id_hash, @payload, @grant_id, @user_code_hash, @uid, @client_id, @account_id, @expires_at, @consumed_at)
     ON CONFLICT (model, id_hash) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
       user_code_hash = excluded.user_code_hash, uid = excluded.uid, client_id = excluded.client_id,
       account_id = excluded.account_id, expires_at = excluded.expires_at`,
  ).run(row);
}

/** A live (unexpired) row: expired ones are never handed back, whatever the pruning. */
export function findOAuthPayload(db: Db, model: string, idHash: Buffer, now: number): OAuthPayloadRow | undefined {
  return sql(
    db,
    'SELECT * FROM oauth_payloads WHERE model = ? AND id_hash = ? AND (expires_at IS NULL OR expires_at > ?)',
  ).get(model, idHash, now) as OAuthPayloadRow | undefined;
}

export function findOAuthPayloadByUid(db: Db, model: string, uid: string, now: number): OAuthPayloadRow | undefined {
  return sql(
    db,
    'SELECT * FROM oauth_payloads WHERE model = ? AND uid = ? AND (expires_at IS NULL OR expires_at > ?)',
  ).get(model, uid, now) as OAuthPayloadRow | undefined;
}

export function findOAuthPayloadByUserCode(
  db: Db,
  model: string,
  userCodeHash: Buffer,
  now: number,
): OAuthPayloadRow | undefined {
  return sql(
    db,
    'SELECT * FROM oauth_payloads WHERE model = ? AND user_code_hash = ? AND (expires_at IS NULL OR expires_at > ?)',
  ).get(model, userCodeHash, now) as OAuthPayloadRow | undefined;
}

/** Marks a code used; false when it was used already (the second of two racing requests). */
export function consumeOAuthPayload(db: Db, model: string, idHash: Buffer, now: number): boolean {
  return (
    sql(db, 'UPDATE oauth_payloads SET consumed_at = ? WHERE model = ? AND id_hash = ? AND consumed_at IS NULL').run(
      now,
      model,
      idHash,
    ).changes > 0
  );
}

export function destroyOAuthPayload(db: Db, model: string, idHash: Buffer): void {
  sql(db, 'DELETE FROM oauth_payloads WHERE model = ? AND id_hash = ?').run(model, idHash);
}

/** Every row of a grant, whatever its model (the grant, its codes and tokens). */
export function revokeOAuthGrant(db: Db, grantId: string): number {
  return sql(db, 'DELETE FROM oauth_payloads WHERE grant_id = ?').run(grantId).changes;
}

/**
 * Deletes up to `limit` expired rows, the oldest first, and says how many: a bounded delete, so that a
 * backlog (a server that was down, a flood of abandoned sign-ins) never holds the writers' lock for long.
 */
export function pruneOAuthPayloads(db: Db, now: number, limit = PRUNE_BATCH): number {
  return sql(
    db,
    `DELETE FROM oauth_payloads WHERE (model, id_hash) IN
       (SELECT model, id_hash FROM oauth_payloads WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?)`,
  ).run(now, limit).changes;
}

/** Expired payload rows deleted at most per prune. */
export const PRUNE_BATCH = 500;

export interface OAuthKeyRow {
  kid: string;
  jwk: Buffer;
  created_at: number;
  retired_at: number | null;
}

/** The signing key first, then the one before it: what JWKS publishes. */
export function publishedOAuthKeys(db: Db): OAuthKeyRow[] {
  return sql(db, 'SELECT * FROM oauth_keys ORDER BY created_at DESC, rowid DESC LIMIT 2').all() as OAuthKeyRow[];
}

export function insertOAuthKey(db: Db, row: Omit<OAuthKeyRow, 'retired_at'>): void {
  sql(db, 'INSERT INTO oauth_keys (kid, jwk, created_at) VALUES (@kid, @jwk, @created_at)').run(row);
}

/** Keys older than the two published ones are retired: their ID tokens no longer verify. */
export function retireOldOAuthKeys(db: Db, now: number): void {
  sql(
    db,
    `UPDATE oauth_keys SET retired_at = ? WHERE retired_at IS NULL AND kid NOT IN
       (SELECT kid FROM oauth_keys ORDER BY created_at DESC, rowid DESC LIMIT 2)`,
  ).run(now);
}

/** A number that changes whenever the keys do (the provider is rebuilt when it differs). */
export function oauthKeysVersion(db: Db): string {
  const row = sql(db, 'SELECT count(*) AS n, max(created_at) AS last FROM oauth_keys').get() as {
    n: number;
    last: number | null;
  };
  return `${row.n}:${row.last ?? 0}`;
}

/** The rows an account has with each application (grants, tokens, sessions), for "authorized applications". */
export function oauthRowsOfAccount(db: Db, accountId: number): OAuthPayloadRow[] {
  return sql(db, 'SELECT * FROM oauth_payloads WHERE account_id = ? AND client_id IS NOT NULL').all(
    accountId,
  ) as OAuthPayloadRow[];
}

/** Ends what an account allowed an application: its grants and every code and token under them. */
export function revokeOAuthAccountClient(db: Db, accountId: number, clientId: string): number {
  return sql(db, 'DELETE FROM oauth_payloads WHERE account_id = ? AND client_id = ?').run(accountId, clientId).changes;
}

/**
 * Ends everything the OAuth provider holds for an account: its sign-in sessions there, the grants it
 * gave and every code and token under them (the account's sessions were ended: a lock, a reset, a
 * sign-out everywhere). Returns how many rows went.
 */
export function endOAuthOfAccount(db: Db, accountId: number): number {
  return sql(db, 'DELETE FROM oauth_payloads WHERE account_id = ?').run(accountId).changes;
}

/**
 * What introspection needs of an access token issued to an application, in one indexed read: the row
 * of a live token (an AccessToken with its account existing and unlocked, or a ClientCredentials
 * token, which has none), of an application neither disabled nor deleted, with whether the account
 * restricts sign-in to an IP list. Anything else (unknown, expired, another model, a dead app or
 * account) is no row at all, so every inactive token costs the same one lookup.
 */
export interface OAuthTokenCheckRow {
  model: 'AccessToken' | 'ClientCredentials';
  id_hash: Buffer;
  payload: Buffer;
  client_id: string;
  account_id: number | null;
  expires_at: number | null;
  username: string | null;
  /** The account that registered the application: only it is told about the app's tokens. */
  owner_account_id: number;
  /** 1 when the account has an IP allow-list (only then is the caller's address checked). */
  restricted: number;
}

export function findOAuthTokenForCheck(db: Db, idHash: Buffer, now: number): OAuthTokenCheckRow | undefined {
  return sql(
    db,
    `SELECT p.model, p.id_hash, p.payload, p.client_id, p.account_id, p.expires_at, a.username, o.owner_account_id,
       CASE WHEN EXISTS (SELECT 1 FROM ip_allow_list i WHERE i.account_id = p.account_id) THEN 1 ELSE 0 END AS restricted
     FROM oauth_payloads p
       JOIN oauth_apps o ON o.client_id = p.client_id AND o.disabled_at IS NULL AND o.deleted_at IS NULL
       LEFT JOIN accounts a ON a.id = p.account_id
     WHERE p.model IN ('AccessToken', 'ClientCredentials') AND p.id_hash = ?
       AND (p.expires_at IS NULL OR p.expires_at > ?) AND p.consumed_at IS NULL
       AND ((p.model = 'AccessToken' AND a.id IS NOT NULL AND a.locked_at IS NULL)
         OR (p.model = 'ClientCredentials' AND p.account_id IS NULL))`,
  ).get(idHash, now) as OAuthTokenCheckRow | undefined;
}
