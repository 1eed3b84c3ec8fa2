-- 016: organizations and their members (issue #20 §5). A member's choice of notices stays in
-- notification_settings.organizations, keyed by the organization's name; only members may set it.

CREATE TABLE organizations (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
  created_at INTEGER NOT NULL,
  created_by TEXT    NOT NULL
);

CREATE TABLE organization_members (
  organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  added_at        INTEGER NOT NULL,
  added_by        TEXT    NOT NULL,
  PRIMARY KEY (organization_id, account_id)
);
CREATE INDEX organization_members_by_account ON organization_members(account_id);
