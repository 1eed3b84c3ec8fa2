-- PostgreSQL 15 dialect of ../014_repair_window.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 014 (issue #20 §2, §4): the repair window of a session signed in with a recovery code, and the
-- devices and addresses an account signed in from. The window's end is set once, by the sign-in that
-- used the recovery code, and never moved. A known sign-in is a keyed hash (HMAC under a key derived
-- from the at-rest key) of the device or the address, never the raw value, with when it was last seen.
ALTER TABLE sessions ADD COLUMN repair_until BIGINT;
CREATE TABLE known_sign_ins (
  account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('device', 'address')),
  fingerprint  BYTEA NOT NULL,
  last_seen_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, kind, fingerprint)
);
