"""What an administrator (the admin area) or an operator (the `wsgiauth` command) can do to an account.

Each function works inside the caller's transaction and records what it did in the audit trail,
with the acting admin's uid (None for an operator's command) next to the account's. The admin
area and the command call the same functions, so the rules below hold whichever was used.
"""

import re

from . import audit

ADMIN = "admin"  # the group that opens the admin area (routes.GROUP_ONLY)
# Group names: short, lower case, no comma (the separator in Remote-Groups
# and in session_user's list) and nothing a header or URL must escape.
GROUP_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
GROUP_NAME_RULE = ("A group name is 1 to 64 lower-case letters, digits, '.', '_' or '-', "
                   "starting with a letter or digit.")
LAST_ADMIN = "This is the last administrator: make someone else an administrator first."
NOT_YOURSELF = "You cannot do this to your own account here: it would lock you out of the admin area."


class Refused(Exception):
    """An action the rules forbid (the last admin, an admin's own account); its message says why."""


def name_key(firstname: str, lastname: str) -> str:
    """Return what the admin area's name search matches: "firstname lastname" in lower case."""
    # Written by the app (sign-up, name change, migration 0012), never by
    # SQL's LOWER, which SQLite applies to ASCII letters only: both sides
    # of a search are lowered by Python, so "Zoë" finds "ZOË".
    return f"{firstname} {lastname}".lower()


def group_names(value) -> tuple:
    """Return the sorted group names in session_user's comma-separated list (None: no group)."""
    return tuple(sorted(value.split(","))) if value else ()


def other_admins(tx, uid: int, now: int) -> int:
    """Lock the admin group's row and return how many unlocked admins there are besides uid."""
    # The UPDATE takes the group row's lock until commit (MySQL) or holds
    # the write lock (SQLite), so two admins demoting each other run one
    # after the other and the second sees the first one's change (on Galera
    # the second fails certification and is run again by db.transaction).
    tx.run("touch_group", name=ADMIN, now=now)
    return tx.one("count_other_admins", uid=uid, name=ADMIN)["n"]


def guard_admin(tx, uid: int, actor, now: int) -> None:
    """Refuse an action that would take away uid's admin access if uid is the actor or the last admin."""
    if actor is not None and actor == uid:
        raise Refused(NOT_YOURSELF)
    if ADMIN in member_of(tx, uid) and other_admins(tx, uid, now) == 0:
        raise Refused(LAST_ADMIN)


def member_of(tx, uid: int) -> tuple:
    """Return the sorted names of uid's groups."""
    return tuple(row["name"] for row in tx.all("groups_of_user", uid=uid))


def add_to_group(app, tx, request, uid: int, name: str, actor=None) -> bool:
    """Put uid in group `name` (made if new); return False if already a member."""
    now = app.now()
    tx.one("lock_user_row", uid=uid)  # first: see copy_group_names
    # INSERT ... if missing: two admins adding the first member of a new
    # group at once meet the UNIQUE name, and db.transaction runs it again.
    if tx.one("group_by_name", name=name) is None:
        tx.run("insert_group", name=name, now=now)
    group = tx.one("group_by_name", name=name)
    tx.run("touch_group", name=name, now=now)
    if tx.one("group_member", uid=uid, group_id=group["id"]):
        return False
    tx.run("insert_group_member", uid=uid, group_id=group["id"], now=now)
    copy_group_names(tx, uid)
    audit.record(app, tx, request, "group_added", uid=uid, detail=name, actor=actor)
    return True


def remove_from_group(app, tx, request, uid: int, name: str, actor=None) -> bool:
    """Take uid out of group `name`; return False if not a member. Raises Refused for the last admin."""
    tx.one("lock_user_row", uid=uid)  # first: see copy_group_names
    if name == ADMIN:
        guard_admin(tx, uid, actor, app.now())
    group = tx.one("group_by_name", name=name)
    if group is None or not tx.run("delete_group_member", uid=uid, group_id=group["id"]):
        return False
    copy_group_names(tx, uid)
    audit.record(app, tx, request, "group_removed", uid=uid, detail=name, actor=actor)
    return True


def copy_group_names(tx, uid: int) -> None:
    """Rewrite users.group_names, the copy of uid's groups the session lookup reads, from group_members."""
    # The session lookup on every request reads this column instead of
    # joining group_members (issue 18). It is rewritten in the transaction
    # that changed the membership, so it is never seen out of step. Its
    # callers lock the user's row before anything else: a second change to
    # this account's groups waits, then reads this one's rows (READ
    # COMMITTED), so no two changes can each write a list missing the
    # other's group (and none deadlocks on the row's foreign-key locks).
    tx.run("set_group_names", uid=uid, names=",".join(member_of(tx, uid)))


def lock(app, tx, request, uid: int, actor=None) -> bool:
    """Lock the account: no sign-in, every session and half sign-in ends; return False if it was locked."""
    guard_admin(tx, uid, actor, app.now())
    if not tx.run("lock_user", uid=uid, now=app.now()):
        return False
    # ASVS 5.0 7.4.5: an administrator can end a user's sessions; a lock
    # ends them all at once, and session_user ignores a locked account's
    # rows besides, so no request in flight can outlive the lock.
    ended = tx.run("delete_user_sessions", uid=uid)
    tx.run("delete_user_pending_signins", uid=uid)
    audit.record(app, tx, request, "account_locked", uid=uid, detail=f"{ended} sessions", actor=actor)
    return True


def unlock(app, tx, request, uid: int, actor=None) -> bool:
    """Unlock the account; return False if it was not locked."""
    if not tx.run("unlock_user", uid=uid):
        return False
    audit.record(app, tx, request, "account_unlocked", uid=uid, actor=actor)
    return True


def sign_out_everywhere(app, tx, request, uid: int, actor=None) -> int:
    """End every session of the account (ASVS 5.0 7.4.5); return how many ended."""
    ended = tx.run("delete_user_sessions", uid=uid)
    tx.run("delete_user_pending_signins", uid=uid)
    audit.record(app, tx, request, "signed_out_by_admin", uid=uid, detail=f"{ended} sessions", actor=actor)
    return ended


def sign_out_everyone(app, db, request, keep_hash: str = "", actor=None) -> int:
    """End every session but the one whose id hash is keep_hash, and every half sign-in; return how many ended."""
    # Unlike the functions above it takes the database, not a transaction: it deletes in batches.
    # ASVS 5.0 7.4.5: an administrator can end the sessions of all users at
    # once (after a leak, a breach, a change of policy). In batches, each
    # its own transaction: one DELETE of every row would hold the table and,
    # on Galera, stall every node while its write set is certified. No time
    # limit (the servers' clocks may differ): it runs until a batch finds
    # less than a full one, so a sign-in made meanwhile may end too.
    ended = db.delete_in_batches("delete_sessions_but", keep_hash=keep_hash)

    def finish(tx):
        """End the half sign-ins (the right password, the code still to come) and record it all."""
        tx.run("delete_all_pending_signins")
        audit.record(app, tx, request, "signed_out_everyone", detail=f"{ended} sessions", actor=actor)

    db.transaction(finish)
    return ended


def set_password(app, tx, request, uid: int, pwdhash: str, actor=None) -> None:
    """Replace the password hash and end every session (a new password means nobody keeps the old access)."""
    tx.run("set_password", uid=uid, pwdhash=pwdhash)
    tx.run("delete_user_sessions", uid=uid)
    tx.run("delete_user_pending_signins", uid=uid)
    audit.record(app, tx, request, "password_set", uid=uid, actor=actor)


def remove_second_factors(app, tx, request, uid: int, actor=None) -> int:
    """Remove the authenticator app, recovery codes and passkeys; return how many factors went."""
    # An app whose set-up was never finished (no code typed) never signed
    # anyone in: it goes too, but it is no factor the owner must be told of.
    app_factor = tx.one("totp_factor", uid=uid)
    tx.run("delete_totp_factor", uid=uid)
    removed = bool(app_factor and app_factor["confirmed_at"]) + tx.run("delete_user_passkeys", uid=uid)
    tx.run("delete_recovery_codes", uid=uid)
    if removed:
        audit.record(app, tx, request, "factors_removed", uid=uid, detail=f"{removed}", actor=actor)
    return removed


def delete(app, tx, request, uid: int, actor=None) -> None:
    """Delete the account for good (the audit trail keeps its uid). Raises Refused for the last admin."""
    guard_admin(tx, uid, actor, app.now())
    audit.record(app, tx, request, "account_delete", uid=uid, actor=actor)
    tx.run("delete_user_sessions", uid=uid)
    tx.run("delete_user", uid=uid)
