-- SQLite only.

-- name: on_connect
-- Enforce REFERENCES (off by default in SQLite), wait for a busy writer
-- instead of failing at once, and let readers run beside one writer.
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
