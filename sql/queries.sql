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
SELECT uid, pwdhash, confirmed_at, locked_at FROM users WHERE email = :email;

-- name: insert_user
INSERT INTO users (firstname, lastname, email, pwdhash, created_at, name_key)
VALUES (:firstname, :lastname, :email, :pwdhash, :created_at, :name_key);

-- name: insert_session
-- Signing in counts as confirming access (access_confirmed_at): the password
-- was typed a moment ago, in the same transaction that begins the session.
INSERT INTO sessions (id_hash, uid, created_at, last_seen, expires_at, remember, ip, user_agent, access_confirmed_at)
VALUES (:id_hash, :uid, :now, :now, :expires_at, :remember, :ip, :user_agent, :now);

-- name: session_user
-- One query per request: the live session and its user, or no row. A session
-- is live until its absolute expiry and while it has been used recently
-- enough (the idle timeout depends on "Keep me signed in"), and only while
-- the account is not locked (issue 16). notice is the one-shot message
-- waiting for this browser's next page; access_confirmed_at when this
-- session last confirmed who is using it (views/access.py); groups the
-- names of the user's groups, comma-separated (the gate to the admin area),
-- from the copy on the users row (migration 0013).
-- The row comes as one JSON object in one column, json_row (db.py unpacks
-- it): MySQL's protocol sends a description of every column with every
-- result, which PyMySQL decodes in Python, ~6 µs a column; one column
-- instead of twelve is ~60 µs less per request (issue 18).
SELECT JSON_OBJECT('uid', s.uid, 'last_seen', s.last_seen, 'expires_at', s.expires_at, 'remember', s.remember,
                   'notice', s.notice, 'access_confirmed_at', s.access_confirmed_at, 'firstname', u.firstname,
                   'lastname', u.lastname, 'email', u.email, 'confirmed_at', u.confirmed_at,
                   'pending_email', u.pending_email, 'groups', u.group_names) AS json_row
FROM sessions s JOIN users u ON u.uid = s.uid
WHERE s.id_hash = :id_hash AND s.expires_at > :now
  AND s.last_seen > CASE WHEN s.remember = 1 THEN :remember_idle_since ELSE :idle_since END
  AND u.locked_at IS NULL;

-- name: session_identity
-- The same lookup for a host app behind the gate (gate.py): the same rules,
-- only the columns it passes on (and last_seen, for the idle timeout).
SELECT JSON_OBJECT('uid', s.uid, 'last_seen', s.last_seen, 'firstname', u.firstname, 'lastname', u.lastname,
                   'email', u.email, 'confirmed_at', u.confirmed_at, 'groups', u.group_names) AS json_row
FROM sessions s JOIN users u ON u.uid = s.uid
WHERE s.id_hash = :id_hash AND s.expires_at > :now
  AND s.last_seen > CASE WHEN s.remember = 1 THEN :remember_idle_since ELSE :idle_since END
  AND u.locked_at IS NULL;

-- name: touch_session
UPDATE sessions SET last_seen = :now WHERE id_hash = :id_hash;

-- name: delete_session
DELETE FROM sessions WHERE id_hash = :id_hash;

-- name: delete_other_sessions
DELETE FROM sessions WHERE uid = :uid AND id_hash <> :id_hash;

-- name: delete_user_sessions
DELETE FROM sessions WHERE uid = :uid;

-- name: sessions_beyond_the_newest
-- At sign-in (ASVS 5.0 7.1.2): the account's live sessions after its :keep
-- most recently used, least recently used last; the caller ends them.
SELECT id_hash FROM sessions
WHERE uid = :uid AND expires_at > :now
  AND last_seen > CASE WHEN remember = 1 THEN :remember_idle_since ELSE :idle_since END
ORDER BY last_seen DESC, created_at DESC, id_hash DESC
LIMIT 1000000 OFFSET :keep;

-- name: delete_all_pending_signins
-- Signing out everyone: every half sign-in too (a few rows: each lives 5 minutes).
DELETE FROM pending_signins;

-- name: rename_session
UPDATE sessions SET id_hash = :new_hash WHERE id_hash = :old_hash;

-- name: set_session_notice
UPDATE sessions SET notice = :notice WHERE id_hash = :id_hash;

-- name: clear_session_notice
UPDATE sessions SET notice = NULL WHERE id_hash = :id_hash;

-- name: confirm_session_access
-- The Confirm access page: this session, and no other of the same user.
UPDATE sessions SET access_confirmed_at = :now WHERE id_hash = :id_hash;


-- name: account_by_uid
-- Everything the account emails and their links need to know about a user.
SELECT uid, firstname, lastname, email, pwdhash, confirmed_at, pending_email FROM users WHERE uid = :uid;

-- name: account_by_email
SELECT uid, firstname, lastname, email, pwdhash, confirmed_at, pending_email FROM users WHERE email = :email;

-- name: confirm_email
-- Only the address the link was sent to, and only once.
UPDATE users SET confirmed_at = :now WHERE uid = :uid AND email = :email AND confirmed_at IS NULL;

-- name: update_name
UPDATE users SET firstname = :firstname, lastname = :lastname, name_key = :name_key WHERE uid = :uid;

-- name: set_pending_email
UPDATE users SET pending_email = :pending_email WHERE uid = :uid;

-- name: apply_pending_email
-- The new address is confirmed by the very link that applies it. The
-- UNIQUE index on email refuses it if another account took it meanwhile.
UPDATE users SET email = :pending_email, pending_email = NULL, confirmed_at = :now
WHERE uid = :uid AND pending_email = :pending_email;

-- name: change_password
-- Only if the hash is still the one the caller checked: of two changes
-- (or two uses of one reset link) racing, exactly one wins, and a hash
-- upgrade at sign-in never overwrites a password changed meanwhile.
UPDATE users SET pwdhash = :new_pwdhash WHERE uid = :uid AND pwdhash = :old_pwdhash;

-- name: delete_user
-- Sessions go with the user (ON DELETE CASCADE, and deleted first anyway);
-- contact messages keep their text but lose the link (ON DELETE SET NULL).
DELETE FROM users WHERE uid = :uid;

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

-- name: forget_attempt
-- A password check counted before the hash ran, and the password was right.
DELETE FROM attempts WHERE id = :id;

-- name: insert_security_event
INSERT INTO security_events (at, event, uid, ip, user_agent, detail, actor_uid)
VALUES (:at, :event, :uid, :ip, :user_agent, :detail, :actor_uid);

-- name: insert_contact_message
INSERT INTO contact_messages (uid, name, email, subject, message, created_at)
VALUES (:uid, :name, :email, :subject, :message, :created_at);

-- name: insert_outbox
INSERT INTO outbox (message_id, mail_from, mail_to, reply_to, subject, body, created_at,
                    status, attempts, last_error, next_attempt_at, claim, claimed_until, sent_at)
VALUES (:message_id, :mail_from, :mail_to, :reply_to, :subject, :body, :created_at,
        'pending', 0, NULL, :created_at, NULL, 0, NULL);

-- name: outbox_due
-- Pending messages whose retry time has come and that nobody is sending.
SELECT id FROM outbox
WHERE status = 'pending' AND next_attempt_at <= :due_by AND claimed_until <= :now
ORDER BY next_attempt_at, id
LIMIT :limit;

-- name: claim_outbox
-- Take one message for sending. The WHERE clause is re-checked under the
-- row lock, so of two processes claiming at once exactly one changes the
-- row (rowcount 1) and sends; the other sees rowcount 0 and skips it.
UPDATE outbox SET claim = :claim, claimed_until = :claimed_until
WHERE id = :id AND status = 'pending' AND next_attempt_at <= :due_by AND claimed_until <= :now;

-- name: claimed_outbox
SELECT id, message_id, mail_from, mail_to, reply_to, subject, body, created_at, attempts
FROM outbox WHERE id = :id AND claim = :claim;

-- name: outbox_sent
-- The text is dropped once delivered: account mails carry one-time links
-- (tokens), which must not stay readable in the database after their job.
UPDATE outbox SET status = 'sent', sent_at = :now, attempts = attempts + 1, last_error = NULL,
                  claim = NULL, claimed_until = 0, body = ''
WHERE id = :id AND claim = :claim;

-- name: outbox_failed
UPDATE outbox SET attempts = attempts + 1, last_error = :error, next_attempt_at = :next_attempt_at,
                  claim = NULL, claimed_until = 0
WHERE id = :id AND claim = :claim;

-- name: outbox_waiting
-- How many messages are pending but not yet due, and when the next one is.
SELECT COUNT(*) AS n, MIN(next_attempt_at) AS next_at FROM outbox
WHERE status = 'pending' AND next_attempt_at > :due_by;

-- name: users_after
-- Keyset pagination over every account (migration 0006 reads them in batches).
SELECT uid, email, pending_email FROM users WHERE uid > :after ORDER BY uid LIMIT :limit;

-- name: replace_email
-- Migration 0006: a new stored address, which its owner has yet to confirm.
UPDATE users SET email = :email, confirmed_at = NULL, pending_email = NULL WHERE uid = :uid;

-- name: clear_pending_email
UPDATE users SET pending_email = NULL WHERE uid = :uid;

-- Passkeys (issue 15, wsgiauth/passkeys.py).

-- name: passkeys_of_user
-- The security page's list, and the credentials a new passkey must not repeat.
SELECT id, name, credential_data, user_handle, created_at, last_used_at FROM passkeys WHERE uid = :uid ORDER BY id;

-- name: passkey_by_credential
-- The passkey a sign-in answer names, with its account.
SELECT p.id, p.uid, p.credential_data, p.user_handle, p.sign_count, p.name, u.email, u.locked_at
FROM passkeys p JOIN users u ON u.uid = p.uid WHERE p.credential_hash = :credential_hash;

-- name: insert_passkey
INSERT INTO passkeys (uid, credential_hash, credential_data, user_handle, name, sign_count, created_at)
VALUES (:uid, :credential_hash, :credential_data, :user_handle, :name, :sign_count, :created_at);

-- name: passkey_used
-- Only if the counter is still the one checked: of two sign-ins racing with
-- one answer, one wins (the other sees 0 rows and is refused).
UPDATE passkeys SET sign_count = :new_count, last_used_at = :now
WHERE id = :id AND sign_count = :old_count;

-- name: passkey_of_user
SELECT id, name FROM passkeys WHERE id = :id AND uid = :uid;

-- name: delete_passkey
DELETE FROM passkeys WHERE id = :id AND uid = :uid;

-- name: delete_passkey_challenge
-- A new ceremony replaces one under way in the same browser (at most one per purpose).
DELETE FROM passkey_challenges WHERE session_hash = :session_hash AND purpose = :purpose;

-- name: insert_passkey_challenge
INSERT INTO passkey_challenges (session_hash, purpose, challenge, uid, user_handle, expires_at)
VALUES (:session_hash, :purpose, :challenge, :uid, :user_handle, :expires_at);

-- name: passkey_challenge
SELECT challenge, uid, user_handle, expires_at FROM passkey_challenges WHERE session_hash = :session_hash AND purpose = :purpose;

-- name: delete_old_passkey_challenges
-- `wsgiauth cleanup`: one bounded batch of challenges nobody answered in time.
DELETE FROM passkey_challenges WHERE expires_at <= :before AND session_hash IN (
    SELECT session_hash FROM (SELECT session_hash FROM passkey_challenges WHERE expires_at <= :before
                              LIMIT :batch) AS old);

-- Second factors (issue 15) ------------------------------------------------

-- name: second_factors_of_user
-- WSGIAUTH_REQUIRE_SECOND_FACTOR (app.second_factors): the account's
-- confirmed authenticator app (primary key) and passkeys (passkeys_uid).
SELECT (SELECT COUNT(*) FROM totp_factors WHERE uid = :uid AND confirmed_at IS NOT NULL) AS apps,
       (SELECT COUNT(*) FROM passkeys WHERE uid = :uid) AS passkeys;

-- name: totp_factor
SELECT uid, secret, confirmed_at, last_step FROM totp_factors WHERE uid = :uid;

-- name: delete_totp_factor
DELETE FROM totp_factors WHERE uid = :uid;

-- name: insert_totp_factor
-- A new key, not yet confirmed (the caller deleted any earlier one).
INSERT INTO totp_factors (uid, secret, confirmed_at, last_step, created_at)
VALUES (:uid, :secret, NULL, 0, :now);

-- name: confirm_totp_factor
-- The first code typed proves the app holds the key; its step is used up.
UPDATE totp_factors SET confirmed_at = :now, last_step = :step
WHERE uid = :uid AND secret = :secret AND confirmed_at IS NULL;

-- name: use_totp_step
-- A code works once: only a step after the last one accepted moves it on
-- (0 rows: the code was used already, in this request's race or before).
UPDATE totp_factors SET last_step = :step WHERE uid = :uid AND confirmed_at IS NOT NULL AND last_step < :step;

-- name: delete_recovery_codes
DELETE FROM recovery_codes WHERE uid = :uid;

-- name: insert_recovery_code
INSERT INTO recovery_codes (uid, salt, code_hash, used_at, created_at) VALUES (:uid, :salt, :code_hash, NULL, :now);

-- name: recovery_code_salt
-- The salt of the account's set of codes (every code of a set has the same).
SELECT salt FROM recovery_codes WHERE uid = :uid ORDER BY id LIMIT 1;

-- name: use_recovery_code
UPDATE recovery_codes SET used_at = :now WHERE uid = :uid AND code_hash = :code_hash AND used_at IS NULL;

-- name: set_recovery_codes_left
-- The count the Security page shows (migration 0014), set with a new set of codes.
UPDATE totp_factors SET codes_left = :n WHERE uid = :uid;

-- name: count_down_recovery_codes
-- One code used (use_recovery_code changed its row in this transaction).
UPDATE totp_factors SET codes_left = codes_left - 1 WHERE uid = :uid AND codes_left > 0;

-- name: recovery_codes_left
SELECT COUNT(*) AS n FROM recovery_codes WHERE uid = :uid AND used_at IS NULL;

-- name: delete_pending_signin
DELETE FROM pending_signins WHERE id_hash = :id_hash;

-- name: insert_pending_signin
INSERT INTO pending_signins (id_hash, uid, remember, expires_at) VALUES (:id_hash, :uid, :remember, :expires_at);

-- name: pending_signin
-- The half sign-in of this browser, if it has not expired; with what the
-- code page and the backoff need of the account.
SELECT p.uid, p.remember, u.email, u.firstname FROM pending_signins AS p JOIN users AS u ON u.uid = p.uid
WHERE p.id_hash = :id_hash AND p.expires_at > :now;

-- name: recent_signin_places
-- Where the account signed up or in during the last 90 days (at most 100 of
-- them, newest first): a sign-in from none of these browsers and networks is mailed.
SELECT ip, user_agent FROM security_events
WHERE uid = :uid AND event IN ('signin', 'signup') AND at > :since
ORDER BY at DESC LIMIT 100;

-- name: ever_signed_in
-- Whether the account has ever signed up or in (a first sign-in is no "new place").
SELECT 1 AS yes FROM security_events WHERE uid = :uid AND event IN ('signin', 'signup') LIMIT 1;

-- Issue 16: groups, locked accounts and the admin area. `groups` is quoted:
-- GROUPS is a reserved word in MySQL 8, and SQLite accepts the backticks.

-- name: update_name_key
UPDATE users SET name_key = :name_key WHERE uid = :uid;

-- name: users_names_after
-- Keyset pagination over every account (migration 0012 fills name_key in batches).
SELECT uid, firstname, lastname FROM users WHERE uid > :after ORDER BY uid LIMIT :limit;

-- name: group_by_name
SELECT id, name FROM `groups` WHERE name = :name;

-- name: insert_group
INSERT INTO `groups` (name, created_at, changed_at) VALUES (:name, :now, :now);

-- name: touch_group
-- Every change of a group's members writes its row first: the row's lock
-- makes such changes (and the "last admin" count) run one at a time.
UPDATE `groups` SET changed_at = :now WHERE name = :name;

-- name: group_member
SELECT uid FROM group_members WHERE uid = :uid AND group_id = :group_id;

-- name: insert_group_member
INSERT INTO group_members (uid, group_id, added_at) VALUES (:uid, :group_id, :now);

-- name: delete_group_member
DELETE FROM group_members WHERE uid = :uid AND group_id = :group_id;

-- name: groups_of_user
SELECT g.name FROM group_members m JOIN `groups` g ON g.id = m.group_id WHERE m.uid = :uid ORDER BY g.name;

-- name: set_group_names
-- The copy of the account's groups the session lookup reads (migration 0013).
UPDATE users SET group_names = :names WHERE uid = :uid;

-- name: all_groups
-- Every group with its number of members, for the admin area's group list.
SELECT g.name, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members
FROM `groups` g ORDER BY g.name;

-- name: count_other_admins
-- Unlocked members of the group :name other than :uid.
SELECT COUNT(*) AS n FROM group_members m JOIN `groups` g ON g.id = m.group_id JOIN users u ON u.uid = m.uid
WHERE g.name = :name AND m.uid <> :uid AND u.locked_at IS NULL;

-- name: group_members_list
-- The members of group :name, by email (`wsgiauth list-admins`).
SELECT u.uid, u.email, u.firstname, u.lastname, u.locked_at
FROM group_members m JOIN `groups` g ON g.id = m.group_id JOIN users u ON u.uid = m.uid
WHERE g.name = :name ORDER BY u.email;

-- name: lock_user
UPDATE users SET locked_at = :now WHERE uid = :uid AND locked_at IS NULL;

-- name: unlock_user
UPDATE users SET locked_at = NULL WHERE uid = :uid AND locked_at IS NOT NULL;

-- name: set_password
UPDATE users SET pwdhash = :pwdhash WHERE uid = :uid;

-- name: delete_user_pending_signins
DELETE FROM pending_signins WHERE uid = :uid;

-- name: delete_user_passkeys
DELETE FROM passkeys WHERE uid = :uid;

-- The admin area's user list (views/admin.py): one page at a time by keyset
-- pagination (the rows after the last one shown, never OFFSET), each page
-- read through an index however deep it is. A page is a range of that
-- index: from :lo up to (not including) :hi, where :hi ends the search's
-- prefix and :lo is where the page starts: the prefix on the first page,
-- the last row shown after that (the greater of the two, worked out by the
-- view), less that row itself. One lower bound only: SQLite's planner uses
-- one of several, and if it took the prefix on a deep page, or a cursor
-- derived from the OR on a search's first page, it would read every entry
-- from there to the page (measured at 1,000,000 users: 0.1-0.8 s instead
-- of 0.03 ms; bench/admin.py). last_signin, groups and second_factor are
-- looked up per row of the page only, each through an index
-- (security_events_user, group_members' key, passkeys_uid); last_signin is
-- the first entry read backwards, not MAX(), for which MariaDB read every
-- sign-in of the user (a page with five users of 7,000: 13.6 ms, now 1.4).

-- name: admin_users_by_email
SELECT u.uid, u.email, u.firstname, u.lastname, u.created_at, u.confirmed_at, u.locked_at, u.name_key,
       (SELECT e.at FROM security_events e WHERE e.uid = u.uid AND e.event = 'signin' ORDER BY e.at DESC LIMIT 1)
         AS last_signin,
       u.group_names AS `groups`,
       (EXISTS (SELECT 1 FROM totp_factors t WHERE t.uid = u.uid AND t.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM passkeys p WHERE p.uid = u.uid)) AS second_factor
FROM users u
WHERE u.email >= :lo AND u.email < :hi AND u.email <> :after
ORDER BY u.email LIMIT :limit;

-- name: admin_users_by_name
-- The same page, sorted by name (then uid, as two people may share a name):
-- the page starts within the last row's name, after its uid (the rows of
-- that name up to it are read and skipped: as many as share the name).
SELECT u.uid, u.email, u.firstname, u.lastname, u.created_at, u.confirmed_at, u.locked_at, u.name_key,
       (SELECT e.at FROM security_events e WHERE e.uid = u.uid AND e.event = 'signin' ORDER BY e.at DESC LIMIT 1)
         AS last_signin,
       u.group_names AS `groups`,
       (EXISTS (SELECT 1 FROM totp_factors t WHERE t.uid = u.uid AND t.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM passkeys p WHERE p.uid = u.uid)) AS second_factor
FROM users u
WHERE u.name_key >= :lo AND u.name_key < :hi AND (u.name_key <> :after_key OR u.uid > :after_uid)
ORDER BY u.name_key, u.uid LIMIT :limit;

-- name: admin_user
-- One account for its admin page: never the password hash.
SELECT u.uid, u.email, u.firstname, u.lastname, u.created_at, u.confirmed_at, u.locked_at, u.pending_email,
       (SELECT e.at FROM security_events e WHERE e.uid = u.uid AND e.event = 'signin' ORDER BY e.at DESC LIMIT 1)
         AS last_signin,
       (SELECT t.confirmed_at FROM totp_factors t WHERE t.uid = u.uid) AS app_since,
       (SELECT COUNT(*) FROM passkeys p WHERE p.uid = u.uid) AS passkeys,
       (SELECT COUNT(*) FROM recovery_codes r WHERE r.uid = u.uid AND r.used_at IS NULL) AS recovery_codes_left
FROM users u WHERE u.uid = :uid;

-- name: admin_user_sessions
-- The account's live sessions, most recently used first (never their id hashes).
SELECT created_at AS at, last_seen, 0 AS current, ip, user_agent
FROM sessions
WHERE uid = :uid AND expires_at > :now
  AND last_seen > CASE WHEN remember = 1 THEN :remember_idle_since ELSE :idle_since END
ORDER BY last_seen DESC LIMIT 100;

-- The audit trail, newest first, one page at a time: the rows before the
-- last one shown (at, id), down to :since. Each filter has its own query
-- led by its index; the other filters are checked on the rows it reads.
-- '' (or -1 for a uid) means "any". audit_by_uid, audit_by_ip and
-- audit_by_event are in queries.sqlite.sql and queries.mysql.sql: the same
-- query, but MariaDB is told which index to read (FORCE INDEX). Left to
-- itself, with 10,000,000 events (bench/admin.py), it read a common event's
-- index by the event alone (ref), from the newest entry down to the page:
-- 2-5 s for a page in the middle of the sign-ins; and for a user with
-- 20,000 events it read security_events_at, newest first, until it had
-- found 50 of theirs: 25-50 ms for the first page, and the longer ago
-- their events, the longer. SQLite, without statistics, takes the index
-- whose columns the WHERE fixes.

-- name: audit_all
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e LEFT JOIN users u ON u.uid = e.uid
WHERE e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- "Download my data" (views/account.py): everything stored about one user,
-- and nothing else: no password hash, key, code hash, credential or token.

-- name: export_account
SELECT uid, email, firstname, lastname, created_at, confirmed_at, pending_email, locked_at FROM users WHERE uid = :uid;

-- name: export_sessions
SELECT created_at, last_seen, expires_at, remember, ip, user_agent FROM sessions WHERE uid = :uid ORDER BY created_at;

-- name: export_events
-- by_admin: whether an administrator did it (which one is not the user's
-- data, nor are that admin's IP address and browser: left empty).
SELECT at, event, CASE WHEN actor_uid IS NULL THEN ip ELSE '' END AS ip,
       CASE WHEN actor_uid IS NULL THEN user_agent ELSE '' END AS user_agent,
       detail, actor_uid IS NOT NULL AS by_admin
FROM security_events WHERE uid = :uid ORDER BY at, id;

-- name: export_contact_messages
SELECT created_at, name, email, subject, message FROM contact_messages WHERE uid = :uid ORDER BY id;

-- name: export_factors
SELECT (SELECT confirmed_at FROM totp_factors WHERE uid = :uid) AS app_since,
       (SELECT COUNT(*) FROM recovery_codes WHERE uid = :uid AND used_at IS NULL) AS recovery_codes_left;

-- name: export_passkeys
SELECT name, created_at, last_used_at FROM passkeys WHERE uid = :uid ORDER BY id;
