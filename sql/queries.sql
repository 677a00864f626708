-- Named queries shared by SQLite and MySQL/MariaDB.
-- Each starts with "-- name: ..."; parameters are written :name and are
-- always bound by the driver, never pasted into the text.

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO schema_migrations (version, name, applied_at) VALUES (:version, :name, :applied_at);

-- name: user_uid_by_email
SELECT uid FROM users WHERE email = :email;

-- name: user_for_signin
SELECT uid, pwdhash FROM users WHERE email = :email;

-- name: insert_user
INSERT INTO users (firstname, lastname, email, pwdhash, created_at)
VALUES (:firstname, :lastname, :email, :pwdhash, :created_at);

-- name: insert_session
INSERT INTO sessions (id_hash, uid, created_at, last_seen, expires_at)
VALUES (:id_hash, :uid, :now, :now, :expires_at);

-- name: session_user
-- One query per request: the live session and its user, or no row.
SELECT s.uid, s.last_seen, s.expires_at, u.firstname, u.lastname, u.email
FROM sessions s JOIN users u ON u.uid = s.uid
WHERE s.id_hash = :id_hash AND s.expires_at > :now;

-- name: delete_session
DELETE FROM sessions WHERE id_hash = :id_hash;

-- name: delete_expired_sessions
DELETE FROM sessions WHERE expires_at <= :now;

-- name: user_by_uid
SELECT uid, firstname, lastname, email FROM users WHERE uid = :uid;

-- name: record_attempt
INSERT INTO attempts (bucket, key_hash, at) VALUES (:bucket, :key_hash, :at);

-- name: attempts_since
-- How many attempts, and the oldest and newest of them, inside the window.
SELECT COUNT(*) AS n, MIN(at) AS first_at, MAX(at) AS last_at
FROM attempts WHERE bucket = :bucket AND key_hash = :key_hash AND at > :since;

-- name: clear_attempts
DELETE FROM attempts WHERE bucket = :bucket AND key_hash = :key_hash;

-- name: delete_old_attempts
DELETE FROM attempts WHERE at <= :before;
