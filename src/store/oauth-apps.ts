import { sql, type Db } from './db.js';

// The OAuth applications developers register (issue #21), migration 018.

export interface OAuthAppRow {
  id: number;
  client_id: string;
  owner_account_id: number;
  name: string;
  /** JSON array of absolute URIs. */
  redirect_uris: string;
  public: number;
  secret_hash: Buffer | null;
  secret_rotated_at: number | null;
  created_at: number;
  disabled_at: number | null;
  disabled_by: string | null;
  disabled_reason: string | null;
  deleted_at: number | null;
}

export function insertOAuthApp(
  db: Db,
  row: Pick<
    OAuthAppRow,
    'client_id' | 'owner_account_id' | 'name' | 'redirect_uris' | 'public' | 'secret_hash' | 'created_at'
  >,
): number {
  return (
    sql(
      db,
      `INSERT INTO oauth_apps (client_id, owner_account_id, name, redirect_uris, public, secret_hash, created_at)
       VALUES (@client_id, @owner_account_id, @name, @redirect_uris, @public, @secret_hash, @created_at) RETURNING id`,
    ).get(row) as { id: number }
  ).id;
}

/** An app by its client id, deleted or not (the provider refuses deleted and disabled ones). */
export function findOAuthApp(db: Db, clientId: string): OAuthAppRow | undefined {
  return sql(db, 'SELECT * FROM oauth_apps WHERE client_id = ?').get(clientId) as OAuthAppRow | undefined;
}

/** The apps an account registered and has not deleted, newest first. */
export function listOwnOAuthApps(db: Db, accountId: number): OAuthAppRow[] {
  return sql(
    db,
    'SELECT * FROM oauth_apps WHERE owner_account_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC',
  ).all(accountId) as OAuthAppRow[];
}

/** Every app not deleted, with its owner's name (support). */
export function listAllOAuthApps(db: Db): (OAuthAppRow & { owner: string })[] {
  return sql(
    db,
    `SELECT p.*, a.username AS owner FROM oauth_apps p JOIN accounts a ON a.id = p.owner_account_id
      WHERE p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC`,
  ).all() as (OAuthAppRow & { owner: string })[];
}

export function setOAuthAppSecret(db: Db, id: number, secretHash: Buffer, now: number): void {
  sql(db, 'UPDATE oauth_apps SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?').run(secretHash, now, id);
}

export function deleteOAuthApp(db: Db, id: number, now: number): boolean {
  return (
    sql(db, 'UPDATE oauth_apps SET deleted_at = ?, secret_hash = NULL WHERE id = ? AND deleted_at IS NULL').run(now, id)
      .changes > 0
  );
}

export function setOAuthAppDisabled(
  db: Db,
  id: number,
  disabled: { at: number; by: string; reason: string } | null,
): boolean {
  return (
    sql(db, 'UPDATE oauth_apps SET disabled_at = ?, disabled_by = ?, disabled_reason = ? WHERE id = ?').run(
      disabled?.at ?? null,
      disabled?.by ?? null,
      disabled?.reason ?? null,
      id,
    ).changes > 0
  );
}

/** Every token, code and grant issued to an app: gone at once (delete, disable, revoke). */
export function deleteOAuthPayloadsOfClient(db: Db, clientId: string): number {
  return sql(db, 'DELETE FROM oauth_payloads WHERE client_id = ?').run(clientId).changes;
}
