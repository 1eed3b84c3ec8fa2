-- 002: the authenticator app (TOTP) and recovery codes. Secrets are AES-256-GCM sealed by the
-- service layer before they reach this file; nothing here is readable without the key.

CREATE TABLE totp_credentials (
  account_id         INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  secret             BLOB    NOT NULL,
  created_at         INTEGER NOT NULL,
  -- NULL while the enrollment waits for its confirmation code.
  enabled_at         INTEGER,
  pending_expires_at INTEGER,
  -- The last accepted RFC 6238 time step: a step is accepted once, whatever the command.
  last_step          INTEGER
);

CREATE TABLE recovery_codes (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  code       BLOB    NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER
);
CREATE INDEX recovery_codes_by_account ON recovery_codes(account_id);
