-- PostgreSQL 15 dialect of ../005_tokens.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 005: personal access tokens and the deprecated API key (SPEC §7). Only a SHA-256 of each secret
-- is stored, found through its unique index.
CREATE TABLE tokens (
  id           TEXT COLLATE "C" PRIMARY KEY,
  account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('token', 'apikey')),
  name         TEXT COLLATE "C" NOT NULL,
  token_hash   BYTEA NOT NULL UNIQUE,
  scopes       TEXT COLLATE "C" NOT NULL,
  resources    TEXT COLLATE "C" NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT,
  last_used_ip TEXT COLLATE "C"
);
-- Names are unique among an account's live tokens; one live API key per account.
CREATE UNIQUE INDEX tokens_live_name ON tokens(account_id, kind, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_by_account ON tokens(account_id);
