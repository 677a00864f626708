-- The tutorial's users table, plus server-side sessions.
-- email is compared byte for byte (utf8mb4_bin), as in SQLite: the app
-- lower-cases it, so case-insensitive matching is the app's decision.
CREATE TABLE users (
    uid INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    firstname VARCHAR(100) NOT NULL,
    lastname VARCHAR(100) NOT NULL,
    email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    pwdhash VARCHAR(255) NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Only a SHA-256 hash of the session id is stored: whoever reads this table
-- (a backup, an SQL injection elsewhere) cannot sign in as anybody.
CREATE TABLE sessions (
    id_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    uid INT UNSIGNED NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    KEY sessions_uid (uid),
    KEY sessions_expires_at (expires_at),
    CONSTRAINT sessions_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
