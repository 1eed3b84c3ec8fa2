-- PostgreSQL 15 dialect of ../003_email.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 003: email codes as a second factor, emailed one-time codes, recovery addresses, notification
-- preferences.

CREATE TABLE email_mfa (
  account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  address    TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  -- NULL while the address waits for its confirmation code.
  enabled_at BIGINT
);

-- One live code per account and purpose ('enable', 'mfa', 'recover', 'recovery-address:<address>').
-- The code itself is never stored: an HMAC of it under the at-rest key.
CREATE TABLE email_codes (
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  purpose    TEXT COLLATE "C" NOT NULL,
  code_hash  BYTEA,
  sent_at    BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  -- Wrong tries since the last success: a new code does not reset them.
  failures   BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, purpose)
);

CREATE TABLE recovery_addresses (
  account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  address     TEXT COLLATE "C" NOT NULL,
  created_at  BIGINT NOT NULL,
  verified_at BIGINT,
  PRIMARY KEY (account_id, address)
);

CREATE TABLE notification_settings (
  account_id    BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  format        TEXT COLLATE "C" NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
  newsletters   TEXT COLLATE "C" NOT NULL DEFAULT '{}',
  organizations TEXT COLLATE "C" NOT NULL DEFAULT '{}'
);
