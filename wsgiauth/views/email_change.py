"""Changing the account's email address: asked for in the settings, done by the link sent to the new one."""

from .. import audit, emails
from ..db import IntegrityError
from ..ratelimit import Limit, account_key
from ..forms import typed, validate_email_change
from ..throttle import TooManyAttempts
from ..tokens import CHANGE_EMAIL, TAKEN, USED
from .account import check_current_password, signed_in
from .confirm import link_page

# Each request mails an address the user typed: at most 3 an hour per account.
CHANGE_MAIL_LIMIT = Limit("change-email-mail", 3, 3600, refusal=(
    "You have asked for 3 email changes in the last hour, the most we send. Please try again in {wait}."))


@signed_in
def account_email(app, request):
    """Check the password, then mail the new address: a link, or word that it already has an account."""
    data, errors = validate_email_change(request.form)
    if not errors and data["email"] == request.session.user["email"]:
        errors["email"] = "That is already your email address."
    # The password first, counted like a sign-in: without it, this form
    # would tell a stolen session (or anyone with an account) which
    # addresses have accounts, at no cost (security review, issue 11).
    user, refusal = check_current_password(app, request, data["password"], errors, "email_password",
                                           typed(request, "email"))
    if refusal:
        return refusal
    new_email = data["email"]
    now = app.sessions.now()
    with app.db.transaction() as tx:
        wait = CHANGE_MAIL_LIMIT.hit(tx, account_key(user), now)
        if wait:
            raise TooManyAttempts(wait, CHANGE_MAIL_LIMIT.refusal_message(wait))
        # Only remembered: the account keeps its address until the link is opened.
        tx.run("set_pending_email", uid=user["uid"], pending_email=new_email)
        # The addresses stay out of the trail: only that a change was asked for.
        audit.record(app, tx, request, "email_change_requested", uid=user["uid"])
        user = dict(user, pending_email=new_email)
        link = app.external_url(request, "account_email_confirm", token=app.tokens.make(CHANGE_EMAIL, user))
        # Whether the address has an account shows only in the mail sent to
        # it, which only its owner reads; this page says the same either way.
        # The UNIQUE index has the last word when a link is opened.
        taken = tx.one("user_uid_by_email", email=new_email)
        letter = emails.address_has_account(new_email) if taken else emails.change_email(user, new_email, link)
        mail_id = emails.enqueue_for(app, tx, user, letter, to=new_email)
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
