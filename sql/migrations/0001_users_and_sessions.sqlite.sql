-- The tutorial's users table, plus server-side sessions.
-- SQLite does not enforce VARCHAR lengths; the form validators do, with the
-- same limits MySQL enforces.
CREATE TABLE users (
    uid INTEGER PRIMARY KEY AUTOINCREMENT,
    firstname VARCHAR(100) NOT NULL,
    lastname VARCHAR(100) NOT NULL,
    email VARCHAR(254) NOT NULL UNIQUE,
    pwdhash VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL
);

-- Only a SHA-256 hash of the session id is stored: whoever reads this table
-- (a backup, an SQL injection elsewhere) cannot sign in as anybody.
CREATE TABLE sessions (
    id_hash CHAR(64) NOT NULL PRIMARY KEY,
    uid INTEGER NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_uid ON sessions (uid);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
