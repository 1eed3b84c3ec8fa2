-- 005: personal access tokens and the deprecated API key (SPEC §7). Only a SHA-256 of each secret
-- is stored, found through its unique index.
CREATE TABLE tokens (
  id           TEXT    PRIMARY KEY,
  account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind         TEXT    NOT NULL CHECK (kind IN ('token', 'apikey')),
  name         TEXT    NOT NULL,
  token_hash   BYTEA    NOT NULL UNIQUE,
  scopes       TEXT    NOT NULL,
  resources    TEXT    NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT,
  last_used_ip TEXT
);
-- Names are unique among an account's live tokens; one live API key per account.
CREATE UNIQUE INDEX tokens_live_name ON tokens(account_id, kind, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_by_account ON tokens(account_id);
