-- PostgreSQL 15 dialect of ../017_recovery_qr_limits.sql (same number, same schema; docs/postgres-plan.md, "PostgreSQL dialect").
-- Issue #20 §1, after an outside review: opening recovery QR requests is free for anyone, so
-- pruning old ones must not scan the table (it ran on every new request, under the write lock), and
-- the requests one client address has waiting are counted to cap them.
CREATE INDEX recovery_qr_requests_by_expiry ON recovery_qr_requests (expires_at);
CREATE INDEX recovery_qr_requests_by_ip ON recovery_qr_requests (ip, expires_at);
