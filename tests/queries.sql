-- Queries only the tests run, to look at what the app stored.

-- name: all_sessions_for_tests
SELECT id_hash, uid, created_at, last_seen, expires_at, notice, access_confirmed_at FROM sessions ORDER BY created_at;

-- name: all_users_for_tests
SELECT uid, firstname, lastname, email, pwdhash, confirmed_at, pending_email, name_key FROM users ORDER BY uid;

-- name: delete_user_for_tests
DELETE FROM users WHERE email = :email;

-- name: sessions_detail_for_tests
SELECT uid, created_at, last_seen, expires_at, remember, ip, user_agent FROM sessions ORDER BY created_at, uid;

-- name: security_events_for_tests
SELECT at, event, uid, ip, user_agent, detail, actor_uid FROM security_events ORDER BY id;

-- The admin area's tests (tests/test_admin.py): what an admin's action changed.

-- name: users_state_for_tests
SELECT uid, email, confirmed_at, locked_at, name_key FROM users ORDER BY uid;

-- name: memberships_for_tests
SELECT m.uid, g.name FROM group_members m JOIN `groups` g ON g.id = m.group_id ORDER BY m.uid, g.name;

-- name: groups_for_tests
SELECT name FROM `groups` ORDER BY name;

-- name: passkey_secrets_for_tests
SELECT uid, credential_hash, credential_data, user_handle FROM passkeys ORDER BY id;

-- name: row_counts_for_tests
-- How many rows each table an admin's action may change holds.
SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM sessions) AS sessions,
       (SELECT COUNT(*) FROM security_events) AS security_events, (SELECT COUNT(*) FROM outbox) AS outbox,
       (SELECT COUNT(*) FROM `groups`) AS `groups`, (SELECT COUNT(*) FROM group_members) AS group_members,
       (SELECT COUNT(*) FROM totp_factors) AS totp_factors, (SELECT COUNT(*) FROM recovery_codes) AS recovery_codes,
       (SELECT COUNT(*) FROM passkeys) AS passkeys, (SELECT COUNT(*) FROM pending_signins) AS pending_signins;

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
INSERT INTO users (firstname, lastname, email, pwdhash, created_at, confirmed_at, name_key)
VALUES (:firstname, :lastname, :email, :pwdhash, :created_at, :confirmed_at, :name_key);

-- name: connection_id_for_tests
SELECT CONNECTION_ID() AS id;

-- name: kill_connection_for_tests
KILL CONNECTION :id;

-- name: connections_to_database_for_tests
SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID();

-- The fuzz test's checks (tests/test_fuzz.py), SQLite only: the file's own
-- integrity, then every row that breaks a rule the app keeps (each should return nothing).

-- name: integrity_check_for_tests
PRAGMA integrity_check;

-- name: foreign_key_check_for_tests
PRAGMA foreign_key_check;

-- name: incomplete_users_for_tests
-- An account with a part missing, an address not in its one stored form, no
-- werkzeug hash, or a value MariaDB's columns would refuse (SQLite takes any length).
SELECT uid FROM users
WHERE firstname = '' OR lastname = '' OR length(firstname) > 100 OR length(lastname) > 100
   OR email NOT LIKE '_%@_%._%' OR email <> lower(trim(email)) OR length(email) > 254
   OR pending_email = '' OR length(pending_email) > 254 OR pending_email <> lower(trim(pending_email))
   OR pwdhash NOT LIKE '%$%$%' OR length(pwdhash) > 255 OR created_at <= 0;

-- name: orphan_sessions_for_tests
SELECT s.id_hash FROM sessions s LEFT JOIN users u ON u.uid = s.uid WHERE u.uid IS NULL;

-- name: incomplete_sessions_for_tests
SELECT id_hash FROM sessions
WHERE length(id_hash) <> 64 OR expires_at <= created_at OR last_seen < created_at OR remember NOT IN (0, 1)
   OR length(ip) > 45 OR length(user_agent) > 200 OR notice = '' OR length(notice) > 500;

-- name: incomplete_outbox_for_tests
-- A message without a recipient, subject or text while it waits, one marked
-- sent that kept its text or has no time, a claim never released, or a
-- value MariaDB's columns would refuse.
SELECT id FROM outbox
WHERE status NOT IN ('pending', 'sent') OR message_id = '' OR mail_from = '' OR mail_to = '' OR subject = ''
   OR (status = 'pending' AND (body = '' OR sent_at IS NOT NULL))
   OR (status = 'sent' AND (sent_at IS NULL OR body <> ''))
   OR claim IS NOT NULL OR attempts < 0 OR created_at <= 0
   OR length(message_id) > 255 OR length(mail_from) > 400 OR length(mail_to) > 400 OR length(reply_to) > 500
   OR length(subject) > 300 OR length(last_error) > 500;

-- name: undelivered_outbox_for_tests
-- With the file backend every message handed to the delivery thread is sent.
SELECT id, attempts, last_error FROM outbox WHERE status <> 'sent';

-- name: incomplete_contact_messages_for_tests
SELECT id FROM contact_messages
WHERE name = '' OR email = '' OR subject = '' OR message = '' OR created_at <= 0
   OR length(name) > 100 OR length(email) > 254 OR length(subject) > 200 OR length(message) > 5000;

-- name: incomplete_security_events_for_tests
SELECT id FROM security_events
WHERE event = '' OR length(event) > 32 OR at <= 0 OR length(ip) > 45 OR length(user_agent) > 200
   OR length(detail) > 64;

-- name: incomplete_attempts_for_tests
SELECT id FROM attempts WHERE bucket = '' OR length(bucket) > 32 OR length(key_hash) <> 64 OR at <= 0;

-- name: incomplete_attempt_keys_for_tests
SELECT bucket, key_hash FROM attempt_keys
WHERE bucket = '' OR length(bucket) > 32 OR length(key_hash) <> 64 OR hits < 1 OR touched_at <= 0;

-- name: age_access_confirmations_for_tests
-- Moves every session's last confirmation of access back in time (the live
-- server's clock is the real one): as if the window ran out.
UPDATE sessions SET access_confirmed_at = access_confirmed_at - :seconds;

-- name: passkeys_for_tests
SELECT id, uid, name, sign_count, created_at, last_used_at FROM passkeys ORDER BY id;

-- name: passkey_challenges_for_tests
SELECT session_hash, purpose, uid, expires_at FROM passkey_challenges ORDER BY expires_at;

-- name: set_passkey_count_for_tests
UPDATE passkeys SET sign_count = :sign_count;

-- name: totp_factors_for_tests
SELECT uid, secret, confirmed_at, last_step FROM totp_factors ORDER BY uid;

-- name: recovery_codes_for_tests
SELECT uid, salt, code_hash, used_at FROM recovery_codes ORDER BY id;

-- name: pending_signins_for_tests
SELECT id_hash, uid, remember, expires_at FROM pending_signins;

-- name: accounts_state_for_tests
-- What an admin action could change about the accounts, for "nothing changed" checks.
SELECT u.uid, u.email, u.firstname, u.lastname, u.pwdhash, u.confirmed_at, u.locked_at,
       (SELECT COUNT(*) FROM sessions s WHERE s.uid = u.uid) AS sessions,
       (SELECT GROUP_CONCAT(g.name) FROM group_members m JOIN `groups` g ON g.id = m.group_id
        WHERE m.uid = u.uid) AS member_of,
       (SELECT COUNT(*) FROM outbox o WHERE o.mail_to = u.email) AS mails
FROM users u ORDER BY u.uid;

-- name: users_names_after_for_tests
SELECT uid, name_key FROM users ORDER BY uid;

-- The real schema's tables and columns (tests/security/test_v8_field_access.py), one query per
-- kind of database: SQLite has no information_schema, MariaDB no pragma_table_info.

-- name: schema_columns_sqlite_for_tests
SELECT m.name AS table_name, p.name AS column_name
FROM sqlite_master m JOIN pragma_table_info(m.name) p
WHERE m.type = 'table' ORDER BY m.name, p.cid;

-- name: schema_columns_mysql_for_tests
SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION;

-- name: forget_group_names_for_tests
-- As before migration 0013: no account has its groups' copy yet.
UPDATE users SET group_names = '';

-- name: group_names_for_tests
SELECT uid, group_names FROM users ORDER BY uid;

-- name: recovery_codes_left_for_tests
SELECT uid, codes_left FROM totp_factors ORDER BY uid;

-- name: forget_recovery_codes_left_for_tests
-- As before migration 0014: no app row has its count yet.
UPDATE totp_factors SET codes_left = 0;
