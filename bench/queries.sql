-- Queries only the benchmark runs (seed.bench_database adds them to the app's).

-- name: server_version
-- MariaDB's version, for the report's header.
SELECT VERSION() AS version;

-- name: seed_users
-- Users :first..:last (at most 10,000: four digits above :first), all with
-- one password hash and the addresses of seed.EMAIL: user0000001@bench.invalid.
-- User n gets uid n, as on a fresh table one row at a time (MariaDB would
-- leave gaps between INSERT ... SELECTs). SQL that SQLite and MariaDB both
-- speak: no || (an OR to MariaDB), no printf or LPAD (each has one of them),
-- no / (a decimal to MariaDB); SUBSTR(10000000 + n, 2) is n on 7 digits.
-- Names: seed.FIRST_NAMES and LAST_NAMES, each passed as one string of
-- :width-character cells; user n has first name n % :firsts and last name
-- n % :lasts (counts with no common factor: every pair comes up). name_key
-- is "first last" in lower case, as accounts.name_key writes it (the names
-- are ASCII, where SQL's LOWER is Python's).
INSERT INTO users (uid, firstname, lastname, email, pwdhash, created_at, name_key)
WITH digits (d) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
SELECT n, firstname, lastname, REPLACE('user#@bench.invalid', '#', SUBSTR(10000000 + n, 2)), :pwdhash, :now,
       LOWER(REPLACE(REPLACE('# $', '#', firstname), '$', lastname))
FROM (SELECT n, TRIM(SUBSTR(:first_names, 1 + :width * (n % :firsts), :width)) AS firstname,
             TRIM(SUBSTR(:last_names, 1 + :width * (n % :lasts), :width)) AS lastname
      FROM (SELECT :first + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM digits a, digits b, digits c, digits e)
           AS seq
      WHERE n <= :last) AS named
ORDER BY n;

-- name: seed_events
-- Audit events :first..:last (at most 100,000) for `python -m bench.admin`,
-- event m with id m, oldest first: at = :t0 + 3 * (m - m % 2), one event
-- every 3 s on average (10,000,000 in a year), in pairs that share a second
-- (the pages' cursor is (at, id)). Whose: every 101st event one of the
-- :heavy users 1..:heavy (tens of thousands each: deep audit trails); of
-- the others, one in three one of the :active users 1..:active (tens each),
-- the rest any of the :users (a few each). Multiplying by the prime 7919
-- spreads each user's events over the whole year. Its kind: cell m % 97 of
-- :events (97 cells of :event_width characters: seed.EVENT_MIX); its IP the
-- user's own, 198.18.(uid % 251).(uid % 256), but one in seven from anywhere
-- in 198.19.0.0/16; the actor the admin (:admin) for what only an admin does.
INSERT INTO security_events (id, at, event, uid, ip, user_agent, detail, actor_uid)
WITH digits (d) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
SELECT m, :t0 + 3 * (m - m % 2), event, uid,
       CASE WHEN m % 7 = 0 THEN REPLACE(REPLACE('198.19.#.$', '#', m % 251), '$', m % 256)
            ELSE REPLACE(REPLACE('198.18.#.$', '#', uid % 251), '$', uid % 256) END,
       CASE m % 11 WHEN 0 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile Safari/604.1'
                   WHEN 1 THEN 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
                   ELSE 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0.0.0 Safari/537.36' END,
       '',
       CASE WHEN event IN ('signed_out_by_admin', 'account_locked', 'account_unlocked', 'group_added')
            THEN :admin END
FROM (SELECT m, TRIM(SUBSTR(:events, 1 + :event_width * (m % 97), :event_width)) AS event,
             CASE WHEN m % 101 = 0 THEN 1 + m % :heavy
                  WHEN m % 3 = 0 THEN 1 + m * 7919 % :active
                  ELSE 1 + m * 7919 % :users END AS uid
      FROM (SELECT :first + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS m
            FROM digits a, digits b, digits c, digits e, digits f) AS seq
      WHERE m <= :last) AS picked
ORDER BY m;

-- name: seed_sessions
-- Live sessions :first..:last (at most 10,000) for `python -m bench.admin`:
-- session n is user 1 + n * 7919 % :users's (one each), began in the last
-- 12 hours and used in the last 20 minutes. Its id hash is made up: no
-- cookie leads to it.
INSERT INTO sessions (id_hash, uid, created_at, last_seen, expires_at, remember, ip, user_agent)
WITH digits (d) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
SELECT REPLACE('bench-session-#', '#', n), 1 + n * 7919 % :users, :now - n % 43200, :now - n % 1200,
       :now - n % 43200 + 43200, 0, '198.18.0.1', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
FROM (SELECT :first + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM digits a, digits b, digits c, digits e) AS seq
WHERE n <= :last ORDER BY n;

-- name: bench_event_span
-- When the audit trail begins and ends (security_events_at: two lookups).
SELECT MIN(at) AS first_at, MAX(at) AS last_at FROM security_events;

-- name: events_schema_sqlite
-- security_events and its indexes as SQLite stores them (seed.events_schema).
SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'security_events' ORDER BY type, name;

-- name: events_schema_mysql
-- The same on MariaDB: its CREATE TABLE statement, indexes included.
SHOW CREATE TABLE security_events;

-- name: ceiling_session
-- The database-bound ceiling's one round trip (bench/ceiling.py): a session
-- row by its primary key, the SHA-256 of the cookie's id as 64 hex digits,
-- as the app's session lookup finds it on every signed-in request; without
-- the join, the expiry conditions and the columns a page reads, which are
-- the app's own work. One column: PyMySQL decodes each column's description
-- in Python, and the ceiling is the least a lookup can cost.
SELECT uid FROM sessions WHERE id_hash = :id_hash;
