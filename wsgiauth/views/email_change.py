"""Changing the account's email address: asked for in the settings, done by the link sent to the new one."""

from werkzeug.exceptions import TooManyRequests

from .. import audit, emails
from ..db import IntegrityError
from ..forms import typed, validate_email_change
from ..ratelimit import Limit, account_key, in_minutes
from ..tokens import CHANGE_EMAIL, TAKEN, USED
from .account import current_user_if_password, show, signed_in
from .accounts import TAKEN as TAKEN_MESSAGE
from .confirm import link_page

# Each request mails an address the user typed: at most 3 an hour per account.
CHANGE_MAIL_LIMIT = Limit("change-email-mail", 3, 3600)


@signed_in
def account_email(app, request):
    """Check the new address and the password, remember the address, and mail it a link."""
    data, errors = validate_email_change(request.form)
    if not errors and data["email"] == request.session.user["email"]:
        errors["email"] = "That is already your email address."
    if not errors:
        with app.db.transaction() as tx:
            # As at sign-up; the UNIQUE index has the last word when the link is opened.
            if tx.one("user_uid_by_email", email=data["email"]):
                errors["email"] = TAKEN_MESSAGE
    user = current_user_if_password(app, request, data, errors, "email_password")
    if user is None:
        return show(app, request, errors, typed(request, "email"))
    new_email = data["email"]
    with app.db.transaction() as tx:
        wait = CHANGE_MAIL_LIMIT.hit(tx, account_key(user), app.sessions.now())
        if wait:
            raise TooManyRequests(
                f"You have asked for {CHANGE_MAIL_LIMIT.limit} email changes in the last hour, the most we "
                f"send. Please try again in {in_minutes(wait)}.", retry_after=wait)
        # Only remembered: the account keeps its address until the link is opened.
        tx.run("set_pending_email", uid=user["uid"], pending_email=new_email)
        # The addresses stay out of the trail: only that a change was asked for.
        audit.record(app, tx, request, "email_change_requested", uid=user["uid"])
        user = dict(user, pending_email=new_email)
        link = app.external_url(request, "account_email_confirm", token=app.tokens.make(CHANGE_EMAIL, user))
        mail_id = emails.enqueue_for(app, tx, user, emails.change_email(user, new_email, link), to=new_email)
        app.sessions.notify(tx, request.session, f"We have sent a link to {new_email}. "
                                                 "Your email address will change when you open it.")
    return app.outbox.deliver_after(app.redirect_to(request, "account"), mail_id)


def account_email_confirm(app, request, token):
    """Switch the account to the new address when the link sent there is opened; tell the old one."""
    mail_ids = []
    try:
        with app.db.transaction() as tx:
            user, problem = app.tokens.check(tx, CHANGE_EMAIL, token)
            if not problem:
                mail_ids = apply_change(app, request, tx, user)
                problem = None if mail_ids else USED
    except IntegrityError:
        # Another account took the address after the link was sent.
        problem = TAKEN
    response = link_page(app, request, "email_changed.html", problem,
                         email=user["pending_email"] if not problem else None)
    return app.outbox.deliver_after(response, *mail_ids)


def apply_change(app, request, tx, user):
    """Make the pending address the account's (confirmed by this link); return the notice's outbox ids."""
    new_email = user["pending_email"]
    if not tx.run("apply_pending_email", uid=user["uid"], pending_email=new_email, now=app.sessions.now()):
        return []  # opened twice at once: the other request made the change
    audit.record(app, tx, request, "email_change", uid=user["uid"])
    # The old address hears about it, so an owner who did not ask can react.
    letter = emails.email_changed(user, user["email"], new_email, app.external_url(request, "contact"))
    return [emails.enqueue_for(app, tx, user, letter)]
