-- PostgreSQL 15 dialect of ../004_ip_allow_list.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 004: IP restriction (SPEC §6): the networks an account may be used from. No row: no restriction.
CREATE TABLE ip_allow_list (
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  cidr       TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, cidr)
);
