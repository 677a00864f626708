-- MySQL/MariaDB only.

-- name: on_connect
-- Strict mode makes an over-long or invalid value an error instead of a
-- silently truncated write; times are integers (epoch seconds), so the
-- server's time zone never changes a stored value.
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO';
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;

-- name: delete_expired_sessions
-- `wsgiauth cleanup`: one bounded batch of sessions past their expiry or
-- idle timeout (the same rule as session_user, written so the indexes on
-- expires_at and last_seen can serve it). Never on a request's path.
DELETE FROM sessions
WHERE expires_at <= :now OR last_seen <= :remember_idle_since OR (remember = 0 AND last_seen <= :idle_since)
LIMIT :batch;

-- name: delete_old_attempts
-- `wsgiauth cleanup`: one bounded batch of attempts older than any limit's window.
DELETE FROM attempts WHERE at <= :before LIMIT :batch;
