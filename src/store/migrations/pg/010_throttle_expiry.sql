-- PostgreSQL 15 dialect of ../010_throttle_expiry.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 010: throttles count only completed wrong checks (issue #15). A check in flight holds a
-- reservation in its row, so parallel guesses from any number of processes cannot start more checks
-- than the failures left before the delay; rows expire once their last failure is older than the
-- longest delay (the index keeps that purge a range scan).
ALTER TABLE throttles ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE throttles ADD COLUMN in_flight_since BIGINT NOT NULL DEFAULT 0;
CREATE INDEX throttles_by_last_failure ON throttles(last_failure_at);
