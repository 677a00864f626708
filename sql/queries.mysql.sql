-- MySQL/MariaDB only.

-- name: on_connect
-- Strict mode makes an over-long or invalid value an error instead of a
-- silently truncated write; times are integers (epoch seconds), so the
-- server's time zone never changes a stored value.
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO';
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED;

-- name: delete_expired_sessions
-- `wsgiauth cleanup`: one bounded batch of sessions past their expiry or
-- idle timeout (the same rule as session_user, written so the indexes on
-- expires_at and last_seen can serve it). Never on a request's path.
DELETE FROM sessions
WHERE expires_at <= :now OR last_seen <= :remember_idle_since OR (remember = 0 AND last_seen <= :idle_since)
LIMIT :batch;

-- name: delete_old_attempts
-- `wsgiauth cleanup`: one bounded batch of attempts older than any limit's window.
DELETE FROM attempts WHERE at <= :before LIMIT :batch;

-- name: node_state
-- On a new connection: is this Galera node synced with the cluster and
-- ready for queries? Plain MariaDB/MySQL has no wsrep variables: no rows.
SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment');

-- name: set_wsrep_sync_wait
-- Galera: make this connection's reads wait for the writes the cluster
-- committed before them (?wsrep_sync_wait=1 in WSGIAUTH_DATABASE).
SET SESSION wsrep_sync_wait = :level;

-- name: lock_attempt_key
-- Takes the key's counter row lock for the rest of the transaction (see limits.Limit.lock).
INSERT INTO attempt_keys (bucket, key_hash, hits, touched_at) VALUES (:bucket, :key_hash, 1, :now)
ON DUPLICATE KEY UPDATE hits = hits + 1, touched_at = :now;

-- name: delete_old_attempt_keys
-- `wsgiauth cleanup`: one bounded batch of counter rows untouched for longer than any window.
DELETE FROM attempt_keys WHERE touched_at <= :before LIMIT :batch;

-- name: delete_expired_pending_signins
-- `wsgiauth cleanup`: one bounded batch of half sign-ins whose 5 minutes are over.
DELETE FROM pending_signins WHERE expires_at <= :now LIMIT :batch;

-- name: delete_old_security_events
-- `wsgiauth cleanup`: one bounded batch of security events older than
-- WSGIAUTH_AUDIT_RETENTION_DAYS, a deleted account's too, through the (at)
-- index (ASVS 5.0 14.2.4). The one query that deletes from the audit trail.
DELETE FROM security_events WHERE at < :before ORDER BY at LIMIT :batch;

-- name: delete_old_sent_mail
-- `wsgiauth cleanup`: one bounded batch of delivered mail (addresses and
-- subject; the text went at delivery) older than WSGIAUTH_AUDIT_RETENTION_DAYS
-- (ASVS 5.0 14.2.4). Through the (status, next_attempt_at) index: a sent row
-- was last tried before it was sent. Pending mail stays until it is sent.
DELETE FROM outbox WHERE status = 'sent' AND next_attempt_at < :before AND sent_at < :before LIMIT :batch;

-- name: delete_old_contact_messages
-- `wsgiauth cleanup`: one bounded batch of Contact messages older than
-- WSGIAUTH_CONTACT_RETENTION_DAYS, through the (created_at) index (ASVS 5.0 14.2.4).
DELETE FROM contact_messages WHERE created_at < :before ORDER BY created_at LIMIT :batch;

-- The admin area's audit trail, by user, IP and event: see queries.sql, where
-- audit_all is. Each reads the index
-- named, as a range on (column, at): MariaDB's own choice read far more.

-- name: audit_by_uid
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e FORCE INDEX (security_events_uid_at) LEFT JOIN users u ON u.uid = e.uid
WHERE e.uid = :uid AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
  AND (:event = '' OR e.event = :event) AND (:ip = '' OR e.ip = :ip)
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: audit_by_ip
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e FORCE INDEX (security_events_ip_at) LEFT JOIN users u ON u.uid = e.uid
WHERE e.ip = :ip AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
  AND (:event = '' OR e.event = :event)
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: audit_by_event
SELECT e.id, e.at, e.event, e.uid, e.actor_uid, e.ip, e.user_agent, e.detail, u.email
FROM security_events e FORCE INDEX (security_events_event_at) LEFT JOIN users u ON u.uid = e.uid
WHERE e.event = :event AND e.at >= :since AND (e.at < :before_at OR (e.at = :before_at AND e.id < :before_id))
ORDER BY e.at DESC, e.id DESC LIMIT :limit;

-- name: lock_user_row
-- The user's row lock until commit, so that two transactions changing one
-- account's sessions or groups run one after the other (READ COMMITTED: the
-- second then reads what the first wrote). At sign-in (ASVS 5.0 7.1.2), two
-- sign-ins count and end the account's sessions in turn; a membership change
-- rewrites users.group_names from what is committed. On Galera, two nodes
-- racing write the same row and one is certified out and run again by
-- db.transaction.
SELECT uid FROM users WHERE uid = :uid FOR UPDATE;

-- name: delete_sessions_but
-- Signing out everyone (accounts.sign_out_everyone): one bounded batch of
-- sessions, never the one whose hash is :keep_hash.
DELETE FROM sessions WHERE id_hash <> :keep_hash LIMIT :batch;

-- name: session_and_security_page
-- The Security page's session lookup (routes.SESSION_LOOKUPS): the page in
-- the one round trip every request makes. See queries.sqlite.sql for what
-- each kind of row is. Here each member of the UNION is in parentheses with
-- its own ORDER BY and LIMIT, which MariaDB runs without materialising a
-- derived table per member (~140 µs less CPU per page than the SQLite form).
(SELECT JSON_OBJECT('uid', s.uid, 'last_seen', s.last_seen, 'expires_at', s.expires_at,
                    'remember', s.remember, 'notice', s.notice, 'access_confirmed_at', s.access_confirmed_at,
                    'firstname', u.firstname, 'lastname', u.lastname, 'email', u.email,
                    'confirmed_at', u.confirmed_at, 'pending_email', u.pending_email, 'groups', u.group_names,
                    'app_since', t.confirmed_at, 'recovery_codes_left', t.codes_left) AS json_row
 FROM sessions s JOIN users u ON u.uid = s.uid LEFT JOIN totp_factors t ON t.uid = s.uid
 WHERE s.id_hash = :id_hash AND s.expires_at > :now
   AND s.last_seen > CASE WHEN s.remember = 1 THEN :remember_idle_since ELSE :idle_since END
   AND u.locked_at IS NULL)
UNION ALL
(SELECT JSON_OBJECT('kind', 'session', 'current', o.id_hash = :id_hash, 'at', o.created_at, 'last_seen', o.last_seen,
                    'ip', o.ip, 'user_agent', o.user_agent)
 FROM sessions me JOIN sessions o ON o.uid = me.uid
 WHERE me.id_hash = :id_hash AND o.expires_at > :now
   AND o.last_seen > CASE WHEN o.remember = 1 THEN :remember_idle_since ELSE :idle_since END)
UNION ALL
(SELECT JSON_OBJECT('kind', IF(e.event = 'signin', 'signin', 'limit'), 'at', e.at, 'seq', e.id, 'ip', e.ip,
                    'user_agent', e.user_agent, 'method', e.detail)
 FROM sessions me JOIN security_events e ON e.uid = me.uid
 WHERE me.id_hash = :id_hash AND e.event IN ('signin', 'session_limit')
 ORDER BY e.at DESC, e.id DESC LIMIT 20);
