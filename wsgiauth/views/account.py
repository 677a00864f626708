"""Account settings: change name, email address and password, delete the account.

The page, and every change but the name, need access confirmed in the last
few minutes (routes.CONFIRMED, views/access.py), checked before these views
run: that is where the password is asked for, once for all of them.
"""

import json
import time

from werkzeug.wrappers import Response

from .. import accounts, audit, letters, limits
from ..db import IntegrityError
from ..forms import refilled, typed, validate_delete, validate_email_change, validate_name, validate_password_change
from ..passwords import refuse_breached
from ..tokens import CHANGE_EMAIL, TAKEN, USED
from .common import forget_token, kept_token, link_page, take_token

CHANGED_MEANWHILE = "Your password was changed in another window meanwhile. Please try again."
NAME_UPDATED = "Your name has been updated."
PASSWORD_UPDATED = "Your password has been changed. Every other browser signed in to your account has been signed out."
ACCOUNT_DELETED = "Your account has been deleted."


def show(app, request, errors=None, form=None, status=200):
    """Render the settings page, with one form's errors and what was typed into it."""
    user = request.session.user
    values = {"firstname": user["firstname"], "lastname": user["lastname"], "email": "", "delete_confirm": ""}
    values.update(form or {})
    return app.render(request, "account.html", status=status, form=values, errors=errors or {},
                      audit_days=app.settings.AUDIT_RETENTION_DAYS)


def account(app, request):
    """Show the account settings: name, email, password, delete."""
    # With what was typed into a form whose token expired (app.show_form_again).
    return show(app, request, form=refilled(request))


def account_data(app, request):
    """Send everything stored about the signed-in user as a JSON file ("Download my data")."""
    # Access is confirmed first (routes.CONFIRMED): a stolen session must not
    # be able to take the history of where and when its victim signs in.
    # Only this user's rows, and of them only what they may read: never a
    # password hash, an authenticator key, a code hash or a passkey's
    # credential (ASVS 5.0 14.2.x: sensitive data only where it is needed).
    uid = request.session.user["uid"]
    data = {
        "exported_at": app.now(),
        "times": "seconds since 1970-01-01 00:00 UTC",
        "account": app.db.one("export_account", uid=uid),
        "groups": list(request.session.user["groups"]),
        "second_factors": dict(app.db.one("export_factors", uid=uid),
                               passkeys=app.db.all("export_passkeys", uid=uid)),
        "sessions": app.db.all("export_sessions", uid=uid),
        "security_events": [dict(row, by_admin=bool(row["by_admin"]))
                            for row in app.db.all("export_events", uid=uid)],
        "contact_messages": app.db.all("export_contact_messages", uid=uid),
    }
    app.db.transaction(lambda tx: audit.record(app, tx, request, "data_exported", uid=uid))
    name = time.strftime("wsgiauth-data-%Y%m%d.json", time.gmtime(app.now()))
    return Response(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def account_name(app, request):
    """Change first and last name (the sign-up rules apply)."""
    data, errors = validate_name(request.form)
    if errors:
        return show(app, request, errors, typed(request, "firstname", "lastname"))

    def rename(tx):
        """Store the new name and leave the notice."""
        tx.run("update_name", uid=request.session.user["uid"], name_key=accounts.name_key(**data), **data)
        app.notices.leave(tx, request.session, NAME_UPDATED)

    app.db.transaction(rename, keep=[request.session])
    return app.redirect_to(request, "account")


def account_email(app, request):
    """Mail the new address: a link, or word that it already has an account."""
    # Access was confirmed before this runs (routes.CONFIRMED): a stolen
    # session cannot use this form to learn which addresses have accounts
    # (security review, issue 11), and the page answers the same either way.
    data, errors = validate_email_change(request.form)
    if not errors and data["email"] == request.session.user["email"]:
        errors["email"] = "That is already your email address."
    if errors:
        return show(app, request, errors, typed(request, "email"))
    user = app.db.one("account_by_uid", uid=request.session.user["uid"])
    new_email = data["email"]
    limits.check(app, request, limits.CHANGE_EMAIL_MAIL, user=user)
    pending = dict(user, pending_email=new_email)
    link = app.external_url(request, "account_email_confirm", token=app.tokens.make(CHANGE_EMAIL, pending))

    def queue(tx):
        """Remember the new address, queue the mail to it, leave the notice; return the outbox id."""
        # Only remembered: the account keeps its address until the link is opened.
        tx.run("set_pending_email", uid=user["uid"], pending_email=new_email)
        # The addresses stay out of the trail: only that a change was asked for.
        audit.record(app, tx, request, "email_change_requested", uid=user["uid"])
        # Whether the address has an account shows only in the mail sent to
        # it, which only its owner reads; this page says the same either way.
        # The UNIQUE index has the last word when a link is opened.
        taken = tx.one("user_uid_by_email", email=new_email)
        letter = letters.address_has_account(new_email) if taken else letters.change_email(pending, new_email, link)
        mail_id = letters.enqueue_for(app, tx, pending, letter, to=new_email)
        app.notices.leave(tx, request.session, f"We have sent a link to {new_email}. "
                                               "Your email address will change when you open it.")
        return mail_id

    mail_id = app.db.transaction(queue, keep=[request.session])
    return app.outbox.deliver_after(app.redirect_to(request, "account"), mail_id)


def account_email_confirm(app, request, token):
    """Answer the link sent to a new address: its token goes into a cookie, the browser on to /account/email/link."""
    return take_token(app, request, CHANGE_EMAIL, token, "account_email_link")


def account_email_link(app, request):
    """Switch the account to the new address when the link sent there has been opened; tell the old one."""
    token = kept_token(app, request, CHANGE_EMAIL)

    def check_and_apply(tx):
        """Check the token and switch the address; return (user row, problem or None, outbox ids)."""
        user, problem = app.tokens.check(tx, CHANGE_EMAIL, token)
        mail_ids = apply_email_change(app, request, tx, user) if not problem else []
        return user, problem or (None if mail_ids else USED), mail_ids

    try:
        user, problem, mail_ids = app.db.transaction(check_and_apply)
    except IntegrityError:
        # Another account took the address after the link was sent.
        user, problem, mail_ids = None, TAKEN, []
    if not problem:
        forget_token(app, request, CHANGE_EMAIL)  # done: a reload finds no link
    response = link_page(app, request, "email_changed.html", problem,
                         email=user["pending_email"] if not problem else None)
    return app.outbox.deliver_after(response, *mail_ids)


def apply_email_change(app, request, tx, user):
    """Make the pending address the account's (confirmed by this link); return the notice's outbox ids."""
    new_email = user["pending_email"]
    if not tx.run("apply_pending_email", uid=user["uid"], pending_email=new_email, now=app.now()):
        return []  # opened twice at once: the other request made the change
    audit.record(app, tx, request, "email_change", uid=user["uid"])
    # The old address hears about it, so an owner who did not ask can react.
    letter = letters.email_changed(user, user["email"], new_email, app.external_url(request, "contact"))
    return [letters.enqueue_for(app, tx, user, letter)]


def account_password(app, request):
    """Change the password: end every other session, move this one to a new id, send a notice."""
    # The current password was typed on the Confirm access page a few
    # minutes ago at most (routes.CONFIRMED; ASVS 4.0.3 2.1.6, 5.0 6.2.3).
    data, errors = validate_password_change(request.form, request.session.user, app.common_passwords,
                                            app.context_words)
    if refuse_breached(app.settings, data["new"], errors, "new_password"):
        return show(app, request, errors)
    user = app.db.one("account_by_uid", uid=request.session.user["uid"])
    pwdhash = app.passwords.hash(data["new"])

    def store(tx):
        """Replace the hash, end other sessions, rotate this one; return the notice mail's id (None if overtaken)."""
        # Only if the hash is still the one just read: a change made
        # meanwhile in another window wins, and this one asks again.
        if not tx.run("change_password", uid=user["uid"], old_pwdhash=user["pwdhash"], new_pwdhash=pwdhash):
            return None
        audit.record(app, tx, request, "password_change", uid=user["uid"])
        # ASVS 3.3.3: other sessions end with a password change; this one
        # continues under a new id (a copy of the old cookie is worthless).
        app.sessions.end_others(tx, request.session)
        app.sessions.rotate(tx, request.session)
        app.notices.leave(tx, request.session, PASSWORD_UPDATED)
        return letters.queue_password_notice(app, request, tx, user)

    mail_id = app.db.transaction(store, keep=[request.session])
    if mail_id is None:
        return show(app, request, {"new_password": CHANGED_MEANWHILE})
    return app.outbox.deliver_after(app.redirect_to(request, "account"), mail_id)


def account_delete(app, request):
    """Delete the account for good: the user row, every session and every pending link."""
    errors = validate_delete(request.form)
    if errors:
        return show(app, request, errors, typed(request, "delete_confirm"))
    user = app.db.one("account_by_uid", uid=request.session.user["uid"])

    def delete(tx):
        """Delete the account and every session of it; leave the notice in a cookie."""
        # Every link in an email is bound to a column of this row (tokens.py),
        # so deleting the row is what makes pending links worthless. The
        # audit row stays (it has no foreign key): the trail outlives the account.
        audit.record(app, tx, request, "account_delete", uid=user["uid"])
        app.sessions.end_all(tx, user["uid"])
        tx.run("delete_user", uid=user["uid"])
        app.sessions.end(tx, request.session)
        # The browser has no session row now: the notice goes in a cookie.
        app.notices.leave(tx, request.session, ACCOUNT_DELETED)

    app.db.transaction(delete, keep=[request.session])
    return app.redirect_to(request, "home")
