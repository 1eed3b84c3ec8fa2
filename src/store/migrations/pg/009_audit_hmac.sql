-- PostgreSQL 15 dialect of ../009_audit_hmac.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 009: the audit log's chain moves from plain SHA-256 to HMAC-SHA-256 under a key derived from the
-- at-rest key (issue #15 §5), so someone who can write the database but not read the key file can no
-- longer recompute it. Rows written before this migration keep their SHA-256 hashes ('sha256'); the
-- opener that holds the key seals them in the same transaction with an 'audit.chain-upgraded' row whose
-- MAC covers the last of them (service/audit.ts). Rows cannot be re-chained: that would vouch for rows
-- nobody can check any more.
ALTER TABLE audit_log ADD COLUMN chain TEXT COLLATE "C" NOT NULL DEFAULT 'sha256';

-- Counting an account's recent refusals (at most a few are recorded per window).
CREATE INDEX audit_log_actor_outcome_at ON audit_log (actor, outcome, at);
