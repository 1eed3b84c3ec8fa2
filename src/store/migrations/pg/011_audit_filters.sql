-- PostgreSQL 15 dialect of ../011_audit_filters.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 011: indexes for `admin audit --user/--actor/--since` (issue #19 §3), which scanned the whole log.
-- The listing is newest first by (at, id): each filter walks its index from the top, in that order,
-- and stops at the limit or at --since, whichever comes first; no sort, no table scan.
CREATE INDEX audit_log_by_target_at ON audit_log (target, at);
CREATE INDEX audit_log_by_actor_at ON audit_log (actor, at);
CREATE INDEX audit_log_by_at ON audit_log (at);
