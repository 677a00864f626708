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
INSERT INTO sessions (id_hash, uid, created_at, last_seen, expires_at, remember, ip, user_agent)
VALUES (:id_hash, :uid, :now, :now, :expires_at, :remember, :ip, :user_agent);

-- name: session_user
-- One query per request: the live session and its user, or no row. A session
-- is live until its absolute expiry and while it has been used recently
-- enough (the idle timeout depends on "Keep me signed in").
SELECT s.uid, s.last_seen, s.expires_at, s.remember, u.firstname, u.lastname, u.email
FROM sessions s JOIN users u ON u.uid = s.uid
WHERE s.id_hash = :id_hash AND s.expires_at > :now
  AND s.last_seen > CASE WHEN s.remember = 1 THEN :remember_idle_since ELSE :idle_since END;

-- name: touch_session
UPDATE sessions SET last_seen = :now WHERE id_hash = :id_hash;

-- name: delete_session
DELETE FROM sessions WHERE id_hash = :id_hash;

-- name: delete_expired_sessions
DELETE FROM sessions
WHERE expires_at <= :now
   OR last_seen <= CASE WHEN remember = 1 THEN :remember_idle_since ELSE :idle_since END;

-- name: delete_other_sessions
DELETE FROM sessions WHERE uid = :uid AND id_hash <> :id_hash;

-- name: delete_user_sessions
DELETE FROM sessions WHERE uid = :uid;

-- name: user_sessions
-- The user's live sessions, most recently used first (for the profile).
SELECT id_hash, created_at, last_seen, remember, ip, user_agent
FROM sessions
WHERE uid = :uid AND expires_at > :now
  AND last_seen > CASE WHEN remember = 1 THEN :remember_idle_since ELSE :idle_since END
ORDER BY last_seen DESC, created_at DESC;

-- name: upgrade_pwdhash
-- Only if the hash is still the one just checked: a password changed in the
-- meantime is never overwritten by the old one.
UPDATE users SET pwdhash = :pwdhash WHERE uid = :uid AND pwdhash = :old_pwdhash;

-- name: user_by_uid
SELECT uid, firstname, lastname, email FROM users WHERE uid = :uid;

-- name: record_attempt
INSERT INTO attempts (bucket, key_hash, at) VALUES (:bucket, :key_hash, :at);

-- name: attempts_since
-- How many attempts, and the oldest and newest of them, inside the window.
SELECT COUNT(*) AS n, MIN(at) AS first_at, MAX(at) AS last_at
FROM attempts WHERE bucket = :bucket AND key_hash = :key_hash AND at > :since;

-- name: attempt_times
-- Every attempt's time inside the window, oldest first (for the backoff).
SELECT at FROM attempts WHERE bucket = :bucket AND key_hash = :key_hash AND at > :since ORDER BY at, id;

-- name: clear_attempts
DELETE FROM attempts WHERE bucket = :bucket AND key_hash = :key_hash;

-- name: delete_old_attempts
DELETE FROM attempts WHERE at <= :before;

-- name: insert_security_event
INSERT INTO security_events (at, event, uid, ip, user_agent, detail)
VALUES (:at, :event, :uid, :ip, :user_agent, :detail);

-- name: recent_signins
SELECT at, ip, user_agent FROM security_events
WHERE uid = :uid AND event = 'signin'
ORDER BY at DESC, id DESC
LIMIT 10;
