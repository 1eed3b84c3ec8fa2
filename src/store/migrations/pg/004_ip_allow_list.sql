-- 004: IP restriction (SPEC §6): the networks an account may be used from. No row: no restriction.
CREATE TABLE ip_allow_list (
  account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  cidr       TEXT    NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, cidr)
);
