import { sql, type Db } from './db.js';

// Organizations and their members (issue #20 §5).

export interface OrgRow {
  id: number;
  name: string;
  created_at: number;
  created_by: string;
}

export interface OrgSummaryRow extends OrgRow {
  members: number;
}

// Names are unique ignoring ASCII case: SQLite's column is COLLATE NOCASE, PostgreSQL's has a unique
// index on lower(name) (migrations/pg/016_orgs.sql). Lookups and order go through lower(name), which
// folds ASCII letters only on both (the PostgreSQL column is COLLATE "C"). The name looked for is folded
// here, not by lower(?): PostgreSQL would fold a parameter under the database's locale, Ä to ä too.
export function findOrg(db: Db, name: string): OrgRow | undefined {
  return sql(db, 'SELECT * FROM organizations WHERE lower(name) = ?').get(asciiLower(name)) as OrgRow | undefined;
}

/** What SQLite's lower() and NOCASE do to a name: A-Z to a-z, nothing else. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

export function insertOrg(db: Db, name: string, now: number, by: string): number {
  return (
    sql(db, 'INSERT INTO organizations (name, created_at, created_by) VALUES (?, ?, ?) RETURNING id').get(
      name,
      now,
      by,
    ) as { id: number }
  ).id;
}

export function listOrgs(db: Db): OrgSummaryRow[] {
  return sql(
    db,
    `SELECT o.*, (SELECT count(*) FROM organization_members m WHERE m.organization_id = o.id) AS members
       FROM organizations o ORDER BY lower(o.name)`,
  ).all() as OrgSummaryRow[];
}

export function orgMemberNames(db: Db, orgId: number): string[] {
  return (
    sql(
      db,
      `SELECT a.username FROM organization_members m JOIN accounts a ON a.id = m.account_id
        WHERE m.organization_id = ? ORDER BY a.username`,
    ).all(orgId) as { username: string }[]
  ).map((r) => r.username);
}

/** The names of the organizations an account belongs to. */
export function orgsOfAccount(db: Db, accountId: number): string[] {
  return (
    sql(
      db,
      `SELECT o.name FROM organization_members m JOIN organizations o ON o.id = m.organization_id
        WHERE m.account_id = ? ORDER BY lower(o.name)`,
    ).all(accountId) as { name: string }[]
  ).map((r) => r.name);
}

export function isOrgMember(db: Db, orgId: number, accountId: number): boolean {
  return (
    sql(db, 'SELECT 1 FROM organization_members WHERE organization_id = ? AND account_id = ?').get(orgId, accountId) !==
    undefined
  );
}

export function addOrgMember(db: Db, orgId: number, accountId: number, now: number, by: string): boolean {
  return (
    sql(
      db,
      'INSERT INTO organization_members (organization_id, account_id, added_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ).run(orgId, accountId, now, by).changes > 0
  );
}

export function removeOrgMember(db: Db, orgId: number, accountId: number): boolean {
  return (
    sql(db, 'DELETE FROM organization_members WHERE organization_id = ? AND account_id = ?').run(orgId, accountId)
      .changes > 0
  );
}

export interface RecipientRow {
  username: string;
  email: string;
  format: 'html' | 'text' | null;
  newsletters: string | null;
  organizations: string | null;
}

/**
 * Candidates for a mailing: unlocked accounts with a verified address (issue #20 §5), optionally only
 * the members of one organization. The caller applies each account's choices.
 */
export function recipientCandidates(db: Db, orgId?: number): RecipientRow[] {
  return sql(
    db,
    `SELECT a.username, a.email, n.format, n.newsletters, n.organizations
       FROM accounts a LEFT JOIN notification_settings n ON n.account_id = a.id
      WHERE a.email_verified_at IS NOT NULL AND a.locked_at IS NULL
        ${orgId === undefined ? '' : 'AND a.id IN (SELECT account_id FROM organization_members WHERE organization_id = ?)'}
      ORDER BY a.username`,
  ).all(...(orgId === undefined ? [] : [orgId])) as RecipientRow[];
}
