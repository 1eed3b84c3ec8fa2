-- PostgreSQL 15 dialect of ../008_introspection_generation.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- 008: a counter that every change able to alter an introspection answer moves, in the same
-- transaction (triggers, so every writer moves it: this tool in any process, or an sqlite3 shell).
-- `acctsec serve` keeps introspection results in memory and reads this one row per request instead of
-- three B-trees: an unchanged counter means nothing a cached answer depends on has changed, so a
-- revocation or lock by another process is seen by the very next request.
CREATE TABLE change_generation (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  n  BIGINT NOT NULL
);
INSERT INTO change_generation (id, n) VALUES (1, 0);

-- SQLite triggers are row triggers: one step per row changed, none for a statement that changes no row
-- (a conditional UPDATE that loses). FOR EACH ROW keeps that; UPDATE OF fires, as in SQLite, when a
-- listed column is in the SET list, whether or not its value changes.
CREATE FUNCTION bump_change_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE change_generation SET n = n + 1 WHERE id = 1; RETURN NULL; END $$;

CREATE TRIGGER tokens_generation_insert AFTER INSERT ON tokens FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
-- Not last_used_at / last_used_ip: introspection itself writes those (at most once a minute).
CREATE TRIGGER tokens_generation_update AFTER UPDATE OF id, account_id, kind, name, token_hash, scopes, resources, created_at, expires_at, revoked_at ON tokens FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER tokens_generation_delete AFTER DELETE ON tokens FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER accounts_generation_update AFTER UPDATE OF id, username, locked_at ON accounts FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER accounts_generation_delete AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER ip_generation_insert AFTER INSERT ON ip_allow_list FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER ip_generation_update AFTER UPDATE ON ip_allow_list FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
CREATE TRIGGER ip_generation_delete AFTER DELETE ON ip_allow_list FOR EACH ROW EXECUTE FUNCTION bump_change_generation();
