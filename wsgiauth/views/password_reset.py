"""Forgotten passwords: ask for a link by email, open it, choose a new password."""

from .. import audit, letters, limits
from ..forms import typed, validate_email_field, validate_password_reset
from ..passwords import refuse_breached
from ..tokens import RESET_PASSWORD, USED
from .common import forget_token, kept_token, link_page, take_token

PASSWORD_CHANGED = "Your password has been changed. Please sign in."


def forgot(app, request):
    """Show the Forgot form, or queue a reset link and give the one answer for every address."""
    errors = {}
    if request.method == "POST":
        data, errors = validate_email_field(request.form)
        if not errors:
            # Counted for every address, known or not, so the limit says
            # nothing about accounts; over it: 429 (ASVS 2.2.1).
            limits.check(app, request, limits.FORGOT_PER_IP)
            mail_ids = request_reset(app, request, data["email"])
            # The same redirect for every address; the email (if any) goes
            # to the outbox's delivery thread once the response is sent.
            return app.outbox.deliver_after(app.redirect_to(request, "forgot_sent"), *mail_ids)
    return app.render(request, "forgot.html", form=typed(request, "email"), errors=errors, sent=False)


def forgot_sent(app, request):
    """Show the answer to the Forgot form (a GET, so reloading sends nothing)."""
    return app.render(request, "forgot.html", sent=True)


def request_reset(app, request, email):
    """Queue a reset link if an account has this address and may have another; return the outbox ids."""
    # OWASP Forgot Password Cheat Sheet: the same message for existing and
    # unknown accounts, after the same work (letters.draft_with_link); only
    # the outbox INSERT is extra for a real account. At most 3 reset mails
    # an hour per account (limits.RESET_MAIL), dropped silently beyond.
    def queue(tx):
        """Count the request; store the mail if there is an account and the limit allows."""
        user = tx.one("account_by_email", email=email)
        wait = limits.hit(app, tx, request, limits.RESET_MAIL, user=user, email=email)
        mail = letters.draft_with_link(app, request, user, email, RESET_PASSWORD, "reset", letters.reset_password)
        if user is None or wait:
            return []  # built and dropped: nothing is stored or sent
        return [app.outbox.store(tx, mail)]

    return app.db.transaction(queue)


def reset(app, request, token):
    """Answer the link from the reset email: its token goes into a cookie, the browser on to /reset."""
    return take_token(app, request, RESET_PASSWORD, token, "reset_link")


def reset_link(app, request):
    """Show the new-password form for a good link; on POST set the password and end every session."""
    # The token comes from the cookie the link left (take_token): a browser
    # that did not open the link is told it does not work.
    token = kept_token(app, request, RESET_PASSWORD)
    user, problem = app.db.transaction(lambda tx: app.tokens.check(tx, RESET_PASSWORD, token))
    errors = {}
    if not problem and request.method == "POST":
        data, errors = validate_password_reset(request.form, user, app.common_passwords, app.context_words)
        if not refuse_breached(app.settings, data["password"], errors, "password"):
            mail_id = set_new_password(app, request, user, data["password"])
            if mail_id:
                forget_token(app, request, RESET_PASSWORD)
                return app.outbox.deliver_after(app.redirect_to(request, "signin"), mail_id)
            problem = USED  # the same link was used a moment ago (another tab)
    return link_page(app, request, "reset.html", problem, action=app.url_for(request, "reset_link"),
                     errors=errors, username=user["email"] if user else "")


def set_new_password(app, request, user, password):
    """Store the new password if the hash is still the one the link was for; return the notice's outbox id."""
    pwdhash = app.passwords.hash(password)

    def store(tx):
        """Replace the hash, end every session, leave the notice; return the notice mail's id (None if overtaken)."""
        if not tx.run("change_password", uid=user["uid"], old_pwdhash=user["pwdhash"], new_pwdhash=pwdhash):
            return None
        audit.record(app, tx, request, "password_reset", uid=user["uid"])
        # ASVS 3.3.3: a password reset ends every session of the account, so
        # whoever got in with the old password (or a stolen cookie) is out.
        app.sessions.end_all(tx, user["uid"])
        # This browser too, whoever it was signed in as: the user signs in
        # with the new password, which proves they know it (no auto sign-in).
        app.sessions.end(tx, request.session)
        app.notices.leave(tx, request.session, PASSWORD_CHANGED)
        return letters.queue_password_notice(app, request, tx, user)

    return app.db.transaction(store, keep=[request.session])
