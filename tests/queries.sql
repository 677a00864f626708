-- Queries only the tests run, to look at what the app stored.

-- name: all_sessions_for_tests
SELECT id_hash, uid, created_at, last_seen, expires_at, notice FROM sessions ORDER BY created_at;

-- name: all_users_for_tests
SELECT uid, firstname, lastname, email, pwdhash, confirmed_at, pending_email FROM users ORDER BY uid;

-- name: delete_user_for_tests
DELETE FROM users WHERE email = :email;

-- name: sessions_detail_for_tests
SELECT uid, created_at, last_seen, expires_at, remember, ip, user_agent FROM sessions ORDER BY created_at, uid;

-- name: security_events_for_tests
SELECT at, event, uid, ip, user_agent, detail FROM security_events ORDER BY id;

-- name: attempts_for_tests
SELECT bucket, key_hash, at FROM attempts ORDER BY id;

-- name: password_attempts_for_tests
SELECT key_hash, at FROM attempts WHERE bucket = 'password-account' ORDER BY id;

-- name: all_outbox_for_tests
SELECT id, message_id, mail_from, mail_to, reply_to, subject, body, status, attempts, last_error,
       next_attempt_at, claim, claimed_until, created_at, sent_at
FROM outbox ORDER BY id;

-- name: all_contact_messages_for_tests
SELECT id, uid, name, email, subject, message, created_at FROM contact_messages ORDER BY id;

-- name: insert_user_for_tests
-- An account as an older version may have stored it (confirmed, any address).
INSERT INTO users (uid, firstname, lastname, email, pwdhash, created_at, confirmed_at, pending_email)
VALUES (:uid, 'Old', 'User', :email, 'not a hash', 0, 1, :pending_email);

-- name: insert_session_for_tests
INSERT INTO sessions (id_hash, uid, created_at, last_seen, expires_at, remember, ip, user_agent)
VALUES (:id_hash, :uid, 0, 0, 0, 0, '', '');

-- name: forget_migration_for_tests
DELETE FROM schema_migrations WHERE version = :version;

-- name: create_user_for_tests
-- An account stored directly, as sign-up stores it, for tests that need a user but do not test sign-up.
INSERT INTO users (firstname, lastname, email, pwdhash, created_at, confirmed_at)
VALUES (:firstname, :lastname, :email, :pwdhash, :created_at, :confirmed_at);

-- name: connection_id_for_tests
SELECT CONNECTION_ID() AS id;

-- name: kill_connection_for_tests
KILL CONNECTION :id;

-- name: connections_to_database_for_tests
SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID();
