-- PostgreSQL 15 dialect of ../015_account_email.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 015: the account's own address is verified before it is used for codes or recovery (issue #20 §3),
-- and a change of address waits, in email_changes, for a code sent to the new address.

ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;

-- At most one pending change per account. requested_by: the staff member who started it with
-- `admin users set-email`, NULL when the owner did.
CREATE TABLE email_changes (
  account_id   BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  address      TEXT COLLATE "C" NOT NULL,
  requested_at BIGINT NOT NULL,
  requested_by TEXT COLLATE "C"
);

-- Addresses already proven before this migration count as verified: the one email codes were
-- activated on (a code sent there was entered), or a verified recovery address equal to it. Every
-- other existing address stays unverified until its owner confirms it (docs/account-email.md).
UPDATE accounts SET email_verified_at = COALESCE(
  (SELECT m.enabled_at FROM email_mfa m
     WHERE m.account_id = accounts.id AND m.enabled_at IS NOT NULL AND lower(m.address) = lower(accounts.email)),
  (SELECT min(r.verified_at) FROM recovery_addresses r
     WHERE r.account_id = accounts.id AND r.verified_at IS NOT NULL AND lower(r.address) = lower(accounts.email))
);
