-- 001: accounts, sessions, the activity log, shared throttles, and store metadata.
-- Times are integer milliseconds since the epoch (UTC).

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE accounts (
  id                  INTEGER PRIMARY KEY,
  username            TEXT    NOT NULL UNIQUE,
  email               TEXT    NOT NULL,
  role                TEXT    NOT NULL CHECK (role IN ('user', 'support', 'admin')),
  password_hash       TEXT    NOT NULL,
  password_changed_at INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  locked_at           INTEGER
);

CREATE TABLE sessions (
  id               TEXT    PRIMARY KEY,
  account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash       BLOB    NOT NULL UNIQUE,
  created_at       INTEGER NOT NULL,
  last_seen_at     INTEGER NOT NULL,
  authenticated_at INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  client           TEXT,
  ip               TEXT,
  revoked_at       INTEGER
);
CREATE INDEX sessions_by_account ON sessions(account_id);

CREATE TABLE activity (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  event      TEXT    NOT NULL,
  detail     TEXT,
  ip         TEXT,
  session_id TEXT
);
CREATE INDEX activity_by_account ON activity(account_id, id DESC);

-- Failure counters shared by every process using this file (and by the server): sign-in per
-- username, later second-factor codes per account and requests per address.
CREATE TABLE throttles (
  key             TEXT    PRIMARY KEY,
  failures        INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL
);
