-- Expired sessions are deleted by `wsgiauth cleanup` in bounded batches, off
-- the request path (issue 14): the idle-timeout rule needs last_seen indexed
-- (expires_at already is).
CREATE INDEX sessions_last_seen ON sessions (last_seen);
