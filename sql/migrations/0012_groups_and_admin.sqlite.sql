-- Issue 16: groups, locked accounts, the admin area's searches and the
-- acting admin in the audit trail. See the MySQL version for the reasons.
CREATE TABLE `groups` (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);

CREATE TABLE group_members (
    uid INTEGER NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES `groups` (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (uid, group_id)
);
CREATE INDEX group_members_group ON group_members (group_id, uid);

ALTER TABLE users ADD COLUMN locked_at BIGINT NULL;
ALTER TABLE users ADD COLUMN name_key VARCHAR(201) NOT NULL DEFAULT '';
CREATE INDEX users_name_key ON users (name_key, uid);

ALTER TABLE security_events ADD COLUMN actor_uid INTEGER NULL;
CREATE INDEX security_events_uid_at ON security_events (uid, at);
CREATE INDEX security_events_event_at ON security_events (event, at);
CREATE INDEX security_events_ip_at ON security_events (ip, at);
