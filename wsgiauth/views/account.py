"""Account settings: change name and password, delete the account (email changes: email_change.py)."""

import functools

from .. import audit, throttle
from ..forms import typed, validate_delete, validate_name, validate_password_change
from .password_reset import queue_password_notice

WRONG_PASSWORD = "That is not your current password."
NAME_UPDATED = "Your name has been updated."
PASSWORD_UPDATED = "Your password has been changed. Every other browser signed in to your account has been signed out."
ACCOUNT_DELETED = "Your account has been deleted."
SIGNED_OUT_AFTER_FAILURES = ("You have been signed out because the current password was typed wrongly too many "
                             "times. Please sign in again.")


def signed_in(view):
    """Wrap an account view so that anyone not signed in is sent to the sign-in page instead."""
    @functools.wraps(view)
    def wrapper(app, request, **values):
        if not request.session.user:
            # ASVS 4.1.1: checked on the server for every request. A page
            # (GET) is shown again after signing in; a form's POST is not replayed.
            return app.redirect_to(request, "signin", next=request.path if request.method == "GET" else None)
        return view(app, request, **values)
    return wrapper


def show(app, request, errors=None, form=None, status=200):
    """Render the settings page, with one form's errors and what was typed into it."""
    user = request.session.user
    values = {"firstname": user["firstname"], "lastname": user["lastname"], "email": "", "delete_confirm": ""}
    values.update(form or {})
    return app.render(request, "account.html", status=status, form=values, errors=errors or {})


def check_current_password(app, request, password, errors, field, form=None):
    """Once the form is otherwise valid, check the current password; return (user row, None) or (None, the answer)."""
    # The same rules as the sign-in page (throttle.verify_password): the
    # account's backoff is shared with it, a throttled attempt runs no hash,
    # and every failure is counted and audited. On top of that, a session
    # that keeps typing wrong passwords is ended.
    if errors:
        return None, show(app, request, errors, form)  # no hashing while the form still has mistakes
    user = app.db.one("account_by_uid", uid=request.session.user["uid"])
    right, wait = throttle.verify_password(app, request, user, user["email"], password, event="password_check")
    if right:
        return user, None
    if wait:
        errors[field] = throttle.try_again_message(wait)
        response = show(app, request, errors, form, status=429)
        response.headers["Retry-After"] = str(wait)
        return None, response
    if throttle.session_failures_exhausted(app, request):
        # ASVS 2.2.1: whoever holds this session is not its owner, or at
        # least cannot prove it; the owner signs in again with the password.
        with app.db.transaction() as tx:
            audit.record(app, tx, request, "signout_wrong_passwords", uid=user["uid"])
            app.sessions.end(tx, request.session)
            app.sessions.notify(tx, request.session, SIGNED_OUT_AFTER_FAILURES)
        return None, app.redirect_to(request, "signin")
    errors[field] = WRONG_PASSWORD
    return None, show(app, request, errors, form)


@signed_in
def account(app, request):
    """Show the account settings: name, email, password, delete."""
    return show(app, request)


@signed_in
def account_name(app, request):
    """Change first and last name (the sign-up rules apply)."""
    data, errors = validate_name(request.form)
    if errors:
        return show(app, request, errors, typed(request, "firstname", "lastname"))
    with app.db.transaction() as tx:
        tx.run("update_name", uid=request.session.user["uid"], **data)
        app.sessions.notify(tx, request.session, NAME_UPDATED)
    return app.redirect_to(request, "account")


@signed_in
def account_password(app, request):
    """Change the password: end every other session, move this one to a new id, send a notice."""
    data, errors = validate_password_change(request.form, request.session.user, app.common_passwords)
    user, refusal = check_current_password(app, request, data["current"], errors, "current_password")
    if refusal:
        return refusal
    pwdhash = app.passwords.hash(data["new"])
    with app.db.transaction() as tx:
        # Only if the hash is still the one just checked: a change made
        # meanwhile in another tab wins, and this one asks again.
        if not tx.run("change_password", uid=user["uid"], old_pwdhash=user["pwdhash"], new_pwdhash=pwdhash):
            return show(app, request, {"current_password": WRONG_PASSWORD})
        audit.record(app, tx, request, "password_change", uid=user["uid"])
        # ASVS 3.3.3: other sessions end with a password change; this one
        # continues under a new id (a copy of the old cookie is worthless).
        app.sessions.end_others(tx, request.session)
        app.sessions.rotate(tx, request.session)
        app.sessions.notify(tx, request.session, PASSWORD_UPDATED)
        mail_id = queue_password_notice(app, request, tx, user)
    return app.outbox.deliver_after(app.redirect_to(request, "account"), mail_id)


@signed_in
def account_delete(app, request):
    """Delete the account for good: the user row, every session and every pending link."""
    data, errors = validate_delete(request.form)
    user, refusal = check_current_password(app, request, data["password"], errors, "delete_password",
                                           typed(request, "delete_confirm"))
    if refusal:
        return refusal
    with app.db.transaction() as tx:
        # Every link in an email is bound to a column of this row (tokens.py),
        # so deleting the row is what makes pending links worthless. The
        # audit row stays (it has no foreign key): the trail outlives the account.
        audit.record(app, tx, request, "account_delete", uid=user["uid"])
        app.sessions.end_all(tx, user["uid"])
        tx.run("delete_user", uid=user["uid"])
        app.sessions.end(tx, request.session)
        # The browser has no session row now: the notice goes in a cookie.
        app.sessions.notify(tx, request.session, ACCOUNT_DELETED)
    return app.redirect_to(request, "home")
