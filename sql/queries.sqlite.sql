-- SQLite only.

-- name: on_connect
-- Enforce REFERENCES (off by default in SQLite), wait for a busy writer
-- instead of failing at once, and let readers run beside one writer.
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;

-- name: delete_expired_sessions
-- `wsgiauth cleanup`: one bounded batch of sessions past their expiry or
-- idle timeout (the same rule as session_user, written so the indexes on
-- expires_at and last_seen can serve it). SQLite's DELETE takes no LIMIT.
DELETE FROM sessions WHERE id_hash IN (
    SELECT id_hash FROM sessions
    WHERE expires_at <= :now OR last_seen <= :remember_idle_since OR (remember = 0 AND last_seen <= :idle_since)
    LIMIT :batch);

-- name: delete_old_attempts
-- `wsgiauth cleanup`: one bounded batch of attempts older than any limit's window.
DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE at <= :before LIMIT :batch);

-- name: lock_attempt_key
-- Takes the database's write lock for the rest of the transaction (see limits.Limit.lock).
INSERT INTO attempt_keys (bucket, key_hash, hits, touched_at) VALUES (:bucket, :key_hash, 1, :now)
ON CONFLICT (bucket, key_hash) DO UPDATE SET hits = hits + 1, touched_at = excluded.touched_at;

-- name: delete_old_attempt_keys
-- `wsgiauth cleanup`: one bounded batch of counter rows untouched for longer than any window.
DELETE FROM attempt_keys WHERE rowid IN (SELECT rowid FROM attempt_keys WHERE touched_at <= :before LIMIT :batch);

-- name: delete_expired_pending_signins
-- `wsgiauth cleanup`: one bounded batch of half sign-ins whose 5 minutes are over.
DELETE FROM pending_signins WHERE id_hash IN (SELECT id_hash FROM pending_signins WHERE expires_at <= :now LIMIT :batch);

-- name: delete_old_security_events
-- `wsgiauth cleanup`: one bounded batch of security events older than
-- WSGIAUTH_AUDIT_RETENTION_DAYS, a deleted account's too, through the (at)
-- index (ASVS 5.0 14.2.4). The one query that deletes from the audit trail.
DELETE FROM security_events WHERE id IN (SELECT id FROM security_events WHERE at < :before LIMIT :batch);

-- name: delete_old_sent_mail
-- `wsgiauth cleanup`: one bounded batch of delivered mail (addresses and
-- subject; the text went at delivery) older than WSGIAUTH_AUDIT_RETENTION_DAYS
-- (ASVS 5.0 14.2.4). Through the (status, next_attempt_at) index: a sent row
-- was last tried before it was sent. Pending mail stays until it is sent.
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE status = 'sent' AND next_attempt_at < :before AND sent_at < :before LIMIT :batch);

-- name: delete_old_contact_messages
-- `wsgiauth cleanup`: one bounded batch of Contact messages older than
-- WSGIAUTH_CONTACT_RETENTION_DAYS, through the (created_at) index (ASVS 5.0 14.2.4).
DELETE FROM contact_messages WHERE id IN (SELECT id FROM contact_messages WHERE created_at < :before LIMIT :batch);

-- The admin area's audit trail, by user, IP and event: see queries.sql, where
-- audit_all is.

-- name: audit_by_uid
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e LEFT JOIN users u ON u.uid = e.uid
WHERE e.uid = :uid AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
  AND (:event = '' OR e.event = :event) AND (:ip = '' OR e.ip = :ip)
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: audit_by_ip
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e LEFT JOIN users u ON u.uid = e.uid
WHERE e.ip = :ip AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
  AND (:event = '' OR e.event = :event)
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: audit_by_event
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e LEFT JOIN users u ON u.uid = e.uid
WHERE e.event = :event AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: lock_user_row
-- Nothing to take: the transaction has written already (at sign-in the old
-- session id's DELETE, for a group the membership row), so it holds SQLite's
-- one write lock, and two such transactions run one after the other.
SELECT uid FROM users WHERE uid = :uid;

-- name: delete_sessions_but
-- Signing out everyone (accounts.sign_out_everyone): one bounded batch of
-- sessions, never the one whose hash is :keep_hash.
DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE id_hash <> :keep_hash LIMIT :batch);

-- name: session_and_security_page
-- The Security page's session lookup (routes.SESSION_LOOKUPS): session_user's
-- row and the page's own rows in the one round trip every request makes (on
-- MySQL a round trip costs more CPU than the rest of the page). The row
-- without a kind is session_user's, plus the authenticator app's
-- confirmation time (NULL: none, or not yet confirmed) and the recovery
-- codes left (kept on the app's row, migration 0014). The others belong to
-- that session's account, and SessionStore.load drops them when that row is
-- missing (no live session): the account's live sessions ('session';
-- `current` marks the browser asking, the id hashes themselves stay here)
-- and its last 20 sign-in events, each a sign-in ('signin') or a sign-in
-- that ended a session to stay under MAX_SESSIONS ('limit'; one member for
-- both, as such a sign-in writes both events; the page shows up to 10 and
-- 5). Each row is one JSON object (json_row: see session_user), so the kinds
-- need not share columns; views/security.py sorts the few rows it gets.
-- SQLite takes no ORDER BY or LIMIT in a member of a UNION, hence the
-- subquery (MariaDB's needs none).
SELECT JSON_OBJECT('uid', s.uid, 'last_seen', s.last_seen, 'expires_at', s.expires_at,
                   'remember', s.remember, 'notice', s.notice, 'access_confirmed_at', s.access_confirmed_at,
                   'firstname', u.firstname, 'lastname', u.lastname, 'email', u.email,
                   'confirmed_at', u.confirmed_at, 'pending_email', u.pending_email, 'groups', u.group_names,
                   'app_since', t.confirmed_at, 'recovery_codes_left', t.codes_left) AS json_row
FROM sessions s JOIN users u ON u.uid = s.uid LEFT JOIN totp_factors t ON t.uid = s.uid
WHERE s.id_hash = :id_hash AND s.expires_at > :now
  AND s.last_seen > CASE WHEN s.remember = 1 THEN :remember_idle_since ELSE :idle_since END
  AND u.locked_at IS NULL
UNION ALL
SELECT JSON_OBJECT('kind', 'session', 'current', o.id_hash = :id_hash, 'at', o.created_at, 'last_seen', o.last_seen,
                   'ip', o.ip, 'user_agent', o.user_agent)
FROM sessions me JOIN sessions o ON o.uid = me.uid
WHERE me.id_hash = :id_hash AND o.expires_at > :now
  AND o.last_seen > CASE WHEN o.remember = 1 THEN :remember_idle_since ELSE :idle_since END
UNION ALL
SELECT JSON_OBJECT('kind', CASE event WHEN 'signin' THEN 'signin' ELSE 'limit' END, 'at', at, 'seq', id, 'ip', ip,
                   'user_agent', user_agent, 'method', detail)
FROM (SELECT e.id, e.at, e.event, e.ip, e.user_agent, e.detail
      FROM sessions me JOIN security_events e ON e.uid = me.uid
      WHERE me.id_hash = :id_hash AND e.event IN ('signin', 'session_limit')
      ORDER BY e.at DESC, e.id DESC LIMIT 20) AS recent;
