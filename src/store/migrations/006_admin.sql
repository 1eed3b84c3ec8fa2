-- 006: support staff (SPEC §9): password reset tokens and the append-only, hash-chained audit log.

CREATE TABLE reset_tokens (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash BLOB    NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
);

-- Actor and target are kept by name as they were at the time: the log outlives renames.
CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT    NOT NULL,
  target    TEXT,
  action    TEXT    NOT NULL,
  reason    TEXT    NOT NULL,
  outcome   TEXT    NOT NULL,
  ip        TEXT,
  detail    TEXT,
  prev_hash TEXT    NOT NULL,
  hash      TEXT    NOT NULL
);

-- Append-only through the tool; anything done behind its back breaks the hash chain.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
