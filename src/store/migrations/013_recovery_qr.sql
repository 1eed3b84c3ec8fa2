-- 013: recovery QR codes (issue #20 §1). One live code per account: only the SHA-256 of its 256-bit
-- secret is kept; a code is used once (used_at) or voided by a new one or `recovery qr revoke`
-- (voided_at). The rows stay, so `recovery qr status` can tell when the last one was made.
CREATE TABLE recovery_qr (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  secret_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  used_at INTEGER,
  voided_at INTEGER
);
CREATE UNIQUE INDEX recovery_qr_live ON recovery_qr (account_id) WHERE used_at IS NULL AND voided_at IS NULL;

-- A recovery by phone: `recover --method qr` against a server opens a request; the phone that scans
-- the code sees it on the server's page and approves it with the code's secret; the CLI, holding the
-- request's handle (only its hash here), then sets the new password. Requests for unknown usernames
-- are kept the same way (account_id NULL), so the answer does not tell accounts apart.
CREATE TABLE recovery_qr_requests (
  id TEXT PRIMARY KEY,
  handle_hash BLOB NOT NULL UNIQUE,
  account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
  phrase TEXT NOT NULL,
  ip TEXT,
  client TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  approved_at INTEGER,
  approved_ip TEXT,
  -- The code that approved it: used (once) only when the CLI sets the new password, so a password the
  -- policy refuses, or a CLI that gives up, leaves the printed code valid.
  qr_id INTEGER REFERENCES recovery_qr (id) ON DELETE CASCADE,
  finished_at INTEGER
);
CREATE INDEX recovery_qr_requests_by_account ON recovery_qr_requests (account_id, expires_at);
