-- MySQL/MariaDB only.

-- name: on_connect
-- Strict mode makes an over-long or invalid value an error instead of a
-- silently truncated write; times are integers (epoch seconds), so the
-- server's time zone never changes a stored value.
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO';
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;
