-- Issue 18: each account's group names, kept on its users row so that the
-- session lookup every request makes reads them without a subquery (on
-- MariaDB the subquery cost more server CPU than the rest of the lookup).
-- group_members stays the truth: accounts.py rewrites this copy in the
-- transaction of every membership change. See the MySQL version.
ALTER TABLE users ADD COLUMN group_names TEXT NOT NULL DEFAULT '';

UPDATE users SET group_names = (
    SELECT group_concat(name, ',') FROM (
        SELECT g.name FROM group_members m JOIN `groups` g ON g.id = m.group_id
        WHERE m.uid = users.uid ORDER BY g.name))
WHERE uid IN (SELECT uid FROM group_members);
