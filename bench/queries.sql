-- Queries only the benchmark runs (seed.bench_database adds them to the app's).

-- name: server_version
-- MariaDB's version, for the report's header.
SELECT VERSION() AS version;

-- name: seed_users
-- Users :first..:last (at most 10,000: four digits above :first), all with
-- one password hash and the addresses of seed.EMAIL: user0000001@bench.invalid.
-- User n gets uid n, as on a fresh table one row at a time (MariaDB would
-- leave gaps between INSERT ... SELECTs). SQL that SQLite and MariaDB both
-- speak: no || (an OR to MariaDB), no printf or LPAD (each has one of them);
-- SUBSTR(10000000 + n, 2) is n on 7 digits.
INSERT INTO users (uid, firstname, lastname, email, pwdhash, created_at)
WITH digits (d) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                    UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)
SELECT n, 'Bench', REPLACE('User #', '#', n), REPLACE('user#@bench.invalid', '#', SUBSTR(10000000 + n, 2)),
       :pwdhash, :now
FROM (SELECT :first + a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM digits a, digits b, digits c, digits e) AS seq
WHERE n <= :last ORDER BY n;
