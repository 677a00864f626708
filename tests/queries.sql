-- Queries only the tests run, to look at what the app stored.

-- name: all_sessions_for_tests
SELECT id_hash, uid, created_at, last_seen, expires_at FROM sessions ORDER BY created_at;

-- name: all_users_for_tests
SELECT uid, firstname, lastname, email, pwdhash FROM users ORDER BY uid;

-- name: delete_user_for_tests
DELETE FROM users WHERE email = :email;
