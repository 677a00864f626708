-- Issue 18: each account's group names ("admin,finance", sorted, comma-
-- separated), kept on its users row so that the session lookup every
-- request makes reads them without a subquery: on MariaDB the correlated
-- GROUP_CONCAT cost ~80 µs of server CPU per request, more than the rest of
-- the lookup. group_members stays the truth (the admin area lists and
-- counts from it); accounts.py rewrites this copy in the same transaction
-- as every membership change, after a locking read of the memberships, so
-- two changes to one account's groups cannot leave a stale copy. ASCII,
-- like the names themselves.
ALTER TABLE users ADD COLUMN group_names TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '';

UPDATE users u SET group_names = (
    SELECT GROUP_CONCAT(g.name ORDER BY g.name SEPARATOR ',') FROM group_members m JOIN `groups` g ON g.id = m.group_id
    WHERE m.uid = u.uid)
WHERE u.uid IN (SELECT uid FROM group_members);
