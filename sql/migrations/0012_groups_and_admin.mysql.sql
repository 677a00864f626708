-- Issue 16: groups, locked accounts, the admin area's searches and the
-- acting admin in the audit trail.

-- Named groups of users; `admin` opens the admin area, any other name is for
-- host applications (wsgiauth.user["groups"], Remote-Groups). GROUPS is a
-- reserved word in MySQL 8 (window frames), so the name is always quoted
-- with backticks, which SQLite accepts too. changed_at is written by every
-- change of membership: that write takes the row's lock, so two admins
-- removing each other cannot both pass the "not the last admin" check.
CREATE TABLE `groups` (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    UNIQUE KEY groups_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who is in which group: the primary key answers "the groups of this user"
-- (every request that needs them), the second index "the members of this
-- group" (list admins).
CREATE TABLE group_members (
    uid INT UNSIGNED NOT NULL,
    group_id INT UNSIGNED NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (uid, group_id),
    KEY group_members_group (group_id, uid),
    CONSTRAINT group_members_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE,
    CONSTRAINT group_members_group FOREIGN KEY (group_id) REFERENCES `groups` (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- locked_at: set by an admin or `wsgiauth lock`; a locked account cannot
-- sign in and has no live session (session_user ignores its rows).
-- name_key: "firstname lastname" in lower case (Python's str.lower, written
-- by the app: users.name_key), so the admin area finds people by the start
-- of their name through an index; byte order, as in SQLite.
ALTER TABLE users
    ADD COLUMN locked_at BIGINT NULL,
    ADD COLUMN name_key VARCHAR(201) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    ADD KEY users_name_key (name_key, uid);

-- actor_uid: the admin who did it, next to the user it was done to (uid);
-- NULL when the user did it themselves or an operator's command did.
-- The indexes serve the audit pages' filters, newest first, one page at a
-- time (keyset pagination on (at, id); InnoDB appends id to each).
ALTER TABLE security_events
    ADD COLUMN actor_uid INT UNSIGNED NULL,
    ADD KEY security_events_uid_at (uid, at),
    ADD KEY security_events_event_at (event, at),
    ADD KEY security_events_ip_at (ip, at);
