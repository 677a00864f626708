"""The admin area: find users, look after one account, read the audit trail.

Who may use it is decided before any of these views runs: signed in (the sign-in gate), in the
group `admin` (routes.GROUP_ONLY, app.authorize: 403 for everyone else) and with access confirmed
in the last few minutes (routes.CONFIRMED). Every action is a POST with a CSRF token (the
dispatcher checks it), changes the account in one transaction through accounts.py, and is
written to the audit trail with the acting admin's uid next to the account's (ASVS 5.0 16.2.1).

Lists are read one page at a time by keyset pagination: the next page is "the rows after the
last one shown", which an index finds at once however far down it is, where OFFSET would read
and throw away every row before it (slow at a million users).
"""

import csv
import io
import logging
import time

from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from .. import accounts, audit, letters
from ..db import DatabaseUnavailable, is_fault
from ..forms import (
    EVERYONE,
    validate_audit_filter,
    validate_delete_user,
    validate_group,
    validate_sign_out_everyone,
    validate_user_search,
)
from ..sessions import hash_id
from ..tokens import RESET_PASSWORD

log = logging.getLogger("wsgiauth")

PAGE = 50  # rows per page of every list
# The forms on a user's page, each posting to the endpoint admin_user_<name>.
ACTIONS = ("signout", "lock", "unlock", "confirmation", "reset", "factors", "group_add", "group_remove", "delete")
CSV_BATCH = 1000  # rows the CSV export reads at a time
# Past the last byte any stored email or name key can have: a search for
# the prefix p is the range p <= value < p + END.
END = "\U0010ffff"
# The first page of the audit trail: before any time and any row id.
NEWEST = (2**62, 2**62)
# The largest uid (INT UNSIGNED). The URL's <int:uid> takes any number of
# digits: a larger one names no account, and SQLite could not even bind it.
UID_MAX = 2**32 - 1


class NoSuchAccount(NotFound):
    """An admin URL names a uid no account has (never made, or deleted since): 404."""

    lead = "There is no account with this number: it may have been deleted. Find it again in the list of users."


def number(text: str, digits: int):
    """Return text as an int if it is 1 to digits ASCII digits, else None."""
    # Not str.isdigit alone: it takes "²", which int() refuses.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def user_page_url(app, request, uid):
    """Return the URL of one user's admin page."""
    return app.url_for(request, "admin_user", uid=uid)


def users(app, request):
    """Show the users, by email or by name, one page at a time, optionally those whose email or name starts with q."""
    data, errors = validate_user_search(request.args)
    prefix, after = data["q"].lower(), request.args.get("after", "")[:300]
    # A page starts at the last row shown, or at the prefix on the first
    # page: the greater of the two (one lower bound: see sql/queries.sql).
    if data["by"] == "name":
        key, _, after_uid = after.rpartition("\x1f")
        rows = app.db.all("admin_users_by_name", lo=max(prefix, key), hi=prefix + END, after_key=key,
                          after_uid=number(after_uid, 10) or 0, limit=PAGE + 1)
    else:
        rows = app.db.all("admin_users_by_email", lo=max(prefix, after), hi=prefix + END, after=after,
                          limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    for row in rows:
        row["groups"] = accounts.group_names(row["groups"])
        row["url"] = user_page_url(app, request, row["uid"])
    next_url = None
    if more:
        # Where the next page starts: after the last email, or after the last
        # name key and uid (joined by a character no name holds).
        last = rows[-1]
        cursor = f"{last['name_key']}\x1f{last['uid']}" if data["by"] == "name" else last["email"]
        next_url = app.url_for(request, "admin_users", q=data["q"], by=data["by"], after=cursor)
    return app.render(request, "admin_users.html", status=400 if errors else 200, rows=rows, form=data,
                      errors=errors, next_url=next_url, first_page=bool(after),
                      first_url=app.url_for(request, "admin_users", q=data["q"], by=data["by"]))


def existing(reader, query, uid):
    """Return the row query reads (through reader: app.db or a tx) for account uid, or raise NoSuchAccount (404)."""
    row = reader.one(query, uid=uid) if uid <= UID_MAX else None
    if row is None:
        raise NoSuchAccount()
    return row


def target(tx, uid):
    """Return the account uid names, read inside tx, or raise NoSuchAccount (404: nothing is changed)."""
    return existing(tx, "account_by_uid", uid)


def user(app, request, uid, errors=None, status=200, form=None):
    """Show one account: details, groups, live sessions, its audit trail (a page at a time), and the actions."""
    row = existing(app.db, "admin_user", uid)
    sessions = app.db.all("admin_user_sessions", uid=uid, **app.sessions.live(app.now()))
    events, next_url, first_url = audit_page(
        app, request, {"uid": uid, "event": "", "ip": "", "since": None, "until": None}, {}, "admin_user", uid=uid)
    return app.render(request, "admin_user.html", status=status, account=row, sessions=sessions, events=events,
                      next_url=next_url, first_url=first_url, first_page="before" in request.args,
                      groups=list(accounts.member_of(app.db, uid)),
                      all_groups=app.db.all("all_groups"), errors=errors or {}, form=form or {},
                      audit_days=app.settings.AUDIT_RETENTION_DAYS,
                      is_self=uid == request.session.user["uid"],
                      action_urls={name: app.url_for(request, f"admin_user_{name}", uid=uid) for name in ACTIONS})


def act(app, request, uid, work, done=None):
    """Run work(tx, account) in one transaction and return to the account's page with a notice.

    work returns the notice to show (or None for `done`) and, optionally, the outbox ids of mail
    it queued: (notice, ids). A rule it breaks (accounts.Refused) shows the page with why (409).
    """
    actor = request.session.user["uid"]

    def run(tx):
        """Check the account still exists, do the work and leave its notice."""
        result = work(tx, target(tx, uid), actor)
        notice, mail_ids = result if isinstance(result, tuple) else (result, [])
        app.notices.leave(tx, request.session, notice or done)
        return mail_ids

    try:
        mail_ids = app.db.transaction(run, keep=[request.session])
    except accounts.Refused as refusal:
        return user(app, request, uid, errors={"action": str(refusal)}, status=409)
    return app.outbox.deliver_after(app.redirect_to(request, "admin_user", uid=uid), *mail_ids)


def signout(app, request, uid):
    """End every session of the account (ASVS 5.0 7.4.5)."""
    def work(tx, account, actor):
        """Sign the account out everywhere."""
        ended = accounts.sign_out_everywhere(app, tx, request, account["uid"], actor=actor)
        return f"{account['email']} has been signed out of {ended} session{'s' if ended != 1 else ''}."

    return act(app, request, uid, work)


def switch(app, request, uid, change, changed, unchanged, **values):
    """Run change(app, tx, request, uid, **values, actor=...); notice changed, or unchanged if nothing was to do."""
    def work(tx, account, actor):
        """Make the change (it says whether there was one) and pick the notice."""
        done = change(app, tx, request, account["uid"], **values, actor=actor)
        return (changed if done else unchanged).format(email=account["email"], **values)

    return act(app, request, uid, work)


def lock(app, request, uid):
    """Lock the account: no sign-in, every session ends (refused for the admin's own account and the last admin)."""
    return switch(app, request, uid, accounts.lock, "{email} is locked and has been signed out everywhere.",
                  "{email} was locked already.")


def unlock(app, request, uid):
    """Unlock the account."""
    return switch(app, request, uid, accounts.unlock, "{email} is unlocked: its owner can sign in again.",
                  "{email} was not locked.")


def resend_confirmation(app, request, uid):
    """Send the link that confirms the account's email address again."""
    def work(tx, account, actor):
        """Queue the confirmation mail, unless the address is confirmed already."""
        if account["confirmed_at"]:
            return f"{account['email']} is confirmed already: nothing was sent."
        audit.record(app, tx, request, "confirmation_resent", uid=account["uid"], actor=actor)
        return (f"A new confirmation link is on its way to {account['email']}.",
                [letters.queue_confirmation(app, request, tx, account)])

    return act(app, request, uid, work)


def send_reset(app, request, uid):
    """Send the account a password reset link (the admin never sees or sets the password)."""
    def work(tx, account, actor):
        """Queue the reset mail the Forgot page would send."""
        audit.record(app, tx, request, "reset_link_sent", uid=account["uid"], actor=actor)
        mail = letters.draft_with_link(app, request, account, account["email"], RESET_PASSWORD, "reset",
                                       letters.reset_password)
        return f"A password reset link is on its way to {account['email']}.", [app.outbox.store(tx, mail)]

    return act(app, request, uid, work)


def remove_factors(app, request, uid):
    """Remove the authenticator app, recovery codes and passkeys of a user who lost them; mail them a notice."""
    def work(tx, account, actor):
        """Remove every second factor and queue the notice."""
        if not accounts.remove_second_factors(app, tx, request, account["uid"], actor=actor):
            return f"{account['email']} has no second factor: nothing was removed."
        return (f"The second factors of {account['email']} have been removed; they have been told by email.",
                [letters.queue_factor_notice(app, request, tx, account, letters.factors_removed_by_admin)])

    return act(app, request, uid, work)


def group_add(app, request, uid):
    """Add the account to a group (made if it does not exist yet)."""
    name, errors = validate_group(request.form)
    if errors:
        return user(app, request, uid, errors=errors, status=400, form={"group": request.form.get("group", "")})

    return switch(app, request, uid, accounts.add_to_group, "{email} is now in the group {name}.",
                  "{email} is in the group {name} already.", name=name)


def group_remove(app, request, uid):
    """Take the account out of a group."""
    name, errors = validate_group(request.form)
    if errors:
        return user(app, request, uid, errors=errors, status=400)

    # Refused for the last admin, and for an admin's own admin access (accounts.guard_admin).
    return switch(app, request, uid, accounts.remove_from_group, "{email} is no longer in the group {name}.",
                  "{email} was not in the group {name}.", name=name)


def delete(app, request, uid):
    """Delete the account for good, once its email address is typed to confirm."""
    account = existing(app.db, "account_by_uid", uid)
    errors = validate_delete_user(request.form, account["email"])
    if errors:
        return user(app, request, uid, errors=errors, status=400)
    actor = request.session.user["uid"]

    def run(tx):
        """Delete it (refused for the admin's own account and the last admin) and leave the notice."""
        gone = target(tx, uid)
        accounts.delete(app, tx, request, uid, actor=actor)
        app.notices.leave(tx, request.session, f"The account {gone['email']} has been deleted.")

    try:
        app.db.transaction(run, keep=[request.session])
    except accounts.Refused as refusal:
        return user(app, request, uid, errors={"action": str(refusal)}, status=409)
    return app.redirect_to(request, "admin_users")


def sessions(app, request, errors=None, status=200):
    """Show the "Sign out everyone" page: what it does, and the form that asks for the word typed."""
    return app.render(request, "admin_sessions.html", status=status, errors=errors or {}, word=EVERYONE)


def sign_out_everyone(app, request):
    """End every session of every account but this browser's, once EVERYONE is typed (ASVS 5.0 7.4.5)."""
    errors = validate_sign_out_everyone(request.form)
    if errors:
        return sessions(app, request, errors=errors, status=400)
    ended = accounts.sign_out_everyone(app, app.db, request, keep_hash=hash_id(request.session.sid),
                                       actor=request.session.user["uid"])
    app.db.transaction(lambda tx: app.notices.leave(
        tx, request.session, f"{ended} session{'s' if ended != 1 else ''} ended: everyone else must sign in again."),
        keep=[request.session])
    return app.redirect_to(request, "admin_sessions")


# -- the audit trail ----------------------------------------------------

def audit_query(filters) -> str:
    """Return the query that reads this filter through an index: by user, else IP, else event, else time."""
    if filters["uid"] is not None:
        return "audit_by_uid"
    if filters["ip"]:
        return "audit_by_ip"
    return "audit_by_event" if filters["event"] else "audit_all"


def read_cursor(value: str) -> tuple:
    """Return the (at, id) a "before" parameter names, or NEWEST for a missing or malformed one."""
    at, _, row_id = value.partition("-")
    at, row_id = number(at, 18), number(row_id, 18)
    return (at, row_id) if at is not None and row_id is not None else NEWEST


def audit_rows(app, filters, before, limit):
    """Return up to limit audit rows matching filters, newest first, older than before (at, id)."""
    until = filters["until"]
    if until is not None and (until, 0) < before:
        before = (until, 0)  # "to" is where the first page starts
    return app.db.all(audit_query(filters), uid=filters["uid"] if filters["uid"] is not None else -1,
                      ip=filters["ip"], event=filters["event"], since=filters["since"] or 0,
                      before_at=before[0], before_id=before[1], limit=limit)


def audit_page(app, request, filters, args, endpoint, **values):
    """Return (one page of audit rows, the URL of the next page or None, the URL of the first page).

    The pages' URLs are endpoint's with values and args (the filters as typed, never "before").
    """
    rows = audit_rows(app, filters, read_cursor(request.args.get("before", "")), PAGE + 1)
    for row in rows[:PAGE]:
        # Links to the accounts named: the one it happened to, the admin who did it.
        row["user_url"] = user_page_url(app, request, row["uid"]) if row["email"] else None
        row["actor_url"] = user_page_url(app, request, row["actor_uid"]) if row["actor_uid"] is not None else None
    first_url = app.url_for(request, endpoint, **values, **args)
    if len(rows) <= PAGE:
        return rows, None, first_url
    last = rows[PAGE - 1]
    return rows[:PAGE], app.url_for(request, endpoint, **values, **args, before=f"{last['at']}-{last['id']}"), first_url


def audit_trail(app, request):
    """Show the audit trail of every account, filtered by event, user, IP and days, newest first."""
    filters, errors = validate_audit_filter(request.args, audit.EVENTS)
    # Only the filters go into the links: any other parameter could clash
    # with url_for's own arguments (?endpoint=...) and make it raise.
    typed = {name: request.args[name] for name in FILTERS if name in request.args}
    rows, next_url, first_url = audit_page(app, request, filters, typed, "admin_audit")
    csv_url = app.url_for(request, "admin_audit_csv", **typed)
    return app.render(request, "admin_audit.html", status=400 if errors else 200, rows=rows, next_url=next_url,
                      errors=errors, form={name: request.args.get(name, "") for name in FILTERS},
                      events=sorted(audit.EVENTS), csv_url=csv_url,
                      first_page="before" in request.args, first_url=first_url)


FILTERS = ("event", "uid", "ip", "from", "to")  # the audit page's form fields
CSV_COLUMNS = ("id", "time_utc", "event", "uid", "email", "actor_uid", "ip", "user_agent", "detail")


def csv_cell(value) -> str:
    """Return value as a CSV cell that a spreadsheet will not run as a formula (OWASP CSV Injection)."""
    text = "" if value is None else str(value)
    # A user agent or detail is text a client chose; a cell starting with
    # one of these would be a formula in Excel or LibreOffice.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(app, request):
    """Send the filtered audit trail as a CSV file, read and sent a batch at a time (any size, little memory)."""
    filters, errors = validate_audit_filter(request.args, audit.EVENTS)
    if errors:
        return audit_trail(app, request)

    def lines():
        """Yield the CSV text: the header, then each batch of rows as it is read."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        before = NEWEST
        while True:
            try:
                rows = audit_rows(app, filters, before, CSV_BATCH)
            except Exception as error:
                if not is_fault(error) and not isinstance(error, DatabaseUnavailable):
                    raise
                # The headers (200) are sent already: the file says it is
                # cut short, rather than ending as if it were whole.
                log.warning("audit CSV export cut short: %s", error)
                yield "# The export stopped here: the database could not be reached. Please try again.\r\n"
                return
            for row in rows:
                writer.writerow([csv_cell(v) for v in (
                    row["id"], time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["at"])), row["event"],
                    row["uid"], row["email"], row["actor_uid"], row["ip"], row["user_agent"], row["detail"])])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(rows) < CSV_BATCH:
                return
            before = (rows[-1]["at"], rows[-1]["id"])

    name = time.strftime("audit-%Y%m%d-%H%M%S.csv", time.gmtime(app.now()))
    return Response(lines(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
