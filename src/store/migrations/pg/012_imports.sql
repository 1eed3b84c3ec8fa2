-- PostgreSQL 15 dialect of ../012_imports.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 012: the runs of `admin users import` (issue #19 review). The server issues each run's id (a client
-- could otherwise reuse or forge one to mix its audit rows with another run's), keeps the running count
-- of accounts it created, and is finished once: its one summary row in the audit log is written by the
-- batch that sets finished_at, and no other.
CREATE TABLE imports (
  id TEXT COLLATE "C" PRIMARY KEY,
  actor_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  started_at BIGINT NOT NULL,
  created BIGINT NOT NULL DEFAULT 0,
  batches BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT
);
