import { sql, type Db } from './db.js';

// Security keys (SPEC §4.3) and the WebAuthn ceremonies that add and use them.

export interface SecurityKeyRow {
  id: string;
  account_id: number;
  name: string;
  /** base64url, as WebAuthn names it. */
  credential_id: string;
  /** COSE public key. */
  public_key: Buffer;
  counter: number;
  /** JSON array of transport hints ("usb", "nfc", "internal"...). */
  transports: string;
  aaguid: string;
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
}

export function listSecurityKeys(db: Db, accountId: number): SecurityKeyRow[] {
  return sql(db, 'SELECT * FROM security_keys WHERE account_id = ? ORDER BY created_at, rowid').all(
    accountId,
  ) as SecurityKeyRow[];
}

export function countSecurityKeys(db: Db, accountId: number): number {
  return (sql(db, 'SELECT count(*) AS n FROM security_keys WHERE account_id = ?').get(accountId) as { n: number }).n;
}

export function findSecurityKeyByName(db: Db, accountId: number, name: string): SecurityKeyRow | undefined {
  return sql(db, 'SELECT * FROM security_keys WHERE account_id = ? AND name = ?').get(accountId, name) as
    SecurityKeyRow | undefined;
}

export function findSecurityKeyByCredential(
  db: Db,
  accountId: number,
  credentialId: string,
): SecurityKeyRow | undefined {
  return sql(db, 'SELECT * FROM security_keys WHERE account_id = ? AND credential_id = ?').get(
    accountId,
    credentialId,
  ) as SecurityKeyRow | undefined;
}

export function insertSecurityKey(db: Db, row: SecurityKeyRow): void {
  sql(
    db,
    `INSERT INTO security_keys (id, account_id, name, credential_id, public_key, counter, transports, aaguid, backed_up, created_at, last_used_at)
     VALUES (@id, @account_id, @name, @credential_id, @public_key, @counter, @transports, @aaguid, @backed_up, @created_at, @last_used_at)`,
  ).run(row);
}

/**
 * Moves the signature counter from `seen` to `next` in one conditional UPDATE: of two assertions
 * checked against the same stored counter, only one is accepted.
 */
export function advanceCounter(db: Db, id: string, seen: number, next: number, now: number): boolean {
  return (
    sql(db, 'UPDATE security_keys SET counter = ?, last_used_at = ? WHERE id = ? AND counter = ?').run(
      next,
      now,
      id,
      seen,
    ).changes > 0
  );
}

export function renameSecurityKey(db: Db, id: string, name: string): void {
  sql(db, 'UPDATE security_keys SET name = ? WHERE id = ?').run(name, id);
}

export function deleteSecurityKey(db: Db, id: string): void {
  sql(db, 'DELETE FROM security_keys WHERE id = ?').run(id);
}

export function deleteAllSecurityKeys(db: Db, accountId: number): number {
  return sql(db, 'DELETE FROM security_keys WHERE account_id = ?').run(accountId).changes;
}

export type CeremonyPurpose = 'register' | 'signin' | 'proof' | 'recover';

export interface CeremonyRow {
  id_hash: Buffer;
  account_id: number | null;
  purpose: CeremonyPurpose;
  key_name: string | null;
  challenge: string;
  rp_id: string;
  origin: string;
  /** The options handed to navigator.credentials (JSON). */
  options: string;
  created_at: number;
  expires_at: number;
  /** The browser's answer (JSON), not yet verified. */
  response: string | null;
  /** What the browser reported instead of an answer (the user cancelled, no key...). */
  error: string | null;
  used_at: number | null;
}

export function insertCeremony(db: Db, row: CeremonyRow): void {
  // Finished and expired ceremonies are of no use to anyone: they go as new ones start.
  sql(db, 'DELETE FROM key_ceremonies WHERE expires_at < ?').run(row.created_at - 60 * 60_000);
  sql(
    db,
    `INSERT INTO key_ceremonies (id_hash, account_id, purpose, key_name, challenge, rp_id, origin, options, created_at, expires_at, response, error, used_at)
     VALUES (@id_hash, @account_id, @purpose, @key_name, @challenge, @rp_id, @origin, @options, @created_at, @expires_at, NULL, NULL, NULL)`,
  ).run(row);
}

export function findCeremony(db: Db, idHash: Buffer): CeremonyRow | undefined {
  return sql(db, 'SELECT * FROM key_ceremonies WHERE id_hash = ?').get(idHash) as CeremonyRow | undefined;
}

/** The browser's answer, taken once, while the ceremony is open. */
export function recordCeremonyAnswer(
  db: Db,
  idHash: Buffer,
  answer: { response: string | null; error: string | null },
  now: number,
): boolean {
  return (
    sql(
      db,
      'UPDATE key_ceremonies SET response = ?, error = ? WHERE id_hash = ? AND response IS NULL AND error IS NULL AND used_at IS NULL AND expires_at > ?',
    ).run(answer.response, answer.error, idHash, now).changes > 0
  );
}

/** Marks a ceremony used; false when it already was (its answer counts once, also under concurrency). */
export function consumeCeremony(db: Db, idHash: Buffer, now: number): boolean {
  return (
    sql(db, 'UPDATE key_ceremonies SET used_at = ? WHERE id_hash = ? AND used_at IS NULL').run(now, idHash).changes > 0
  );
}
