"""The audit trail: security events written to the security_events table and to Python's logging."""

import logging

from . import client

log = logging.getLogger("wsgiauth.audit")

# Every event name the trail knows (ASVS 7.1.3 / 7.2.1: authentication
# decisions are logged). A fixed list keeps typos out of the table.
EVENTS = frozenset({
    "signup",                  # an account was created (and signed in, unless it must confirm first)
    "signin",                  # a new session began (detail: "passkey" when a passkey signed in, else a password)
    "signin_failed",           # a wrong password, or an email nobody has
    "signin_throttled",        # the account's backoff refused an attempt (no hash was run)
    "rate_limited",            # a per-IP limit answered 429 (detail: which limit)
    "signout",                 # the user signed out
    "signout_others",          # "Sign out everywhere else" (detail: how many sessions)
    "session_limit",           # a sign-in ended the least recently used session(s): MAX_SESSIONS (detail: how many)
    "signin_unconfirmed",      # the right password, refused: the address is not confirmed yet
    "signin_code_asked",       # the right password; the second step (a code) was asked for
    "signin_code_failed",      # a wrong or reused code at the second step
    "signin_code_throttled",   # the account's backoff refused a code (nothing was checked)
    "authenticator_added",     # an authenticator app was set up (and recovery codes made)
    "authenticator_removed",   # the authenticator app was removed (and its recovery codes)
    "recovery_code_used",      # a recovery code signed in in place of an app code (detail: how many are left)
    "recovery_codes_renewed",  # a new set of recovery codes replaced the old one
    "password_change",         # the password was changed in the account settings
    "password_reset",          # the password was set from a reset link
    "email_change_requested",  # a link was sent to a new address (which is not recorded)
    "email_change",            # that link was opened: the account uses the new address
    "account_delete",          # the account was deleted (the trail keeps its uid)
    # Written until the Confirm access page replaced the settings forms' own
    # current-password fields (issue 15); kept so older rows keep their name.
    "password_check_failed",   # a wrong current password on a settings form (change email/password, delete)
    "password_check_throttled",  # the account's backoff refused such a check (no hash was run)
    "signout_wrong_passwords",   # a session ended after too many wrong passwords (now: on the Confirm access page)
    "access_confirmed",        # the Confirm access page took the right password (sudo mode, views/access.py)
    "access_confirm_failed",   # a wrong password there
    "access_confirm_throttled",  # the account's backoff refused a check there (no hash was run)
    "passkey_added",           # a passkey was added on the sign-in security page
    "passkey_removed",         # a passkey was removed there
    "passkey_counter_error",   # a passkey's sign counter went backwards: refused, it may be a copy (detail: old>=new)
    # Done to an account by an admin (actor_uid) or an operator's command
    # (actor_uid NULL, user agent "wsgiauth command"): accounts.py.
    "signin_locked",           # the right password (or passkey) for a locked account: refused
    "account_locked",          # the account was locked: no sign-in, its sessions ended (detail: how many)
    "account_unlocked",        # the account was unlocked
    "signed_out_by_admin",     # every session of the account was ended (detail: how many)
    "signed_out_everyone",     # every session of every account ended, but the acting admin's (detail: how many)
    "group_added",             # the account joined a group (detail: its name)
    "group_removed",           # the account left a group (detail: its name)
    "password_set",            # an operator set a new password (`wsgiauth set-password`); sessions ended
    "factors_removed",         # the second factors were removed for a user who lost them (detail: how many)
    "confirmation_resent",     # an admin sent the confirmation link again
    "reset_link_sent",         # an admin sent a password reset link
    "data_exported",           # the user downloaded their data (Download my data)
    "second_factor_required",  # a page refused: a second factor is required and the account has none (detail: rule)
})

# The user agent recorded for what an operator did with the `wsgiauth`
# command, which has no browser and no IP address.
COMMAND_AGENT = "wsgiauth command"


def record(app, tx, request, event: str, uid=None, detail: str = "", actor=None) -> None:
    """Write one security event (time, user, IP, browser, acting admin) inside tx, and log it.

    app is the WSGIAuth app, or a command's Settings (only its clock, .now, is read); request
    is None for a command. actor is the uid of the admin who acted on uid's account.
    """
    # Never pass a password, token, cookie or typed email here: the columns
    # are read by whoever reads the database or the logs. `detail` is for
    # short facts the app itself produced (a limit's name, a count).
    if event not in EVENTS:
        raise ValueError(f"unknown security event {event!r}")
    ip, user_agent = (client.ip(request), client.agent(request)) if request is not None else ("", COMMAND_AGENT)
    tx.run("insert_security_event", at=app.now(), event=event, uid=uid, ip=ip,
           user_agent=user_agent, detail=str(detail)[:64], actor_uid=actor)
    # Logged once the row is committed: a transaction that is rolled back, or
    # retried (db.py), leaves no log line for an event that did not happen.
    # %r quotes the user agent, so nothing it contains can forge a log line.
    tx.after_commit.append(lambda: log.info(
        "security event %s uid=%s ip=%s detail=%s agent=%r actor=%s", event, uid, ip, detail, user_agent, actor,
        extra={"event": event, "uid": uid, "ip": ip, "actor": actor}))  # separate fields in JSON lines (logs.py)
