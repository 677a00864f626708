"""Email confirmation: opening the link sent at sign-up, and asking for a new one."""

from .. import letters, limits
from ..forms import typed, validate_email_field
from ..tokens import CONFIRM_EMAIL, USED
from .common import forget_token, kept_token, link_page, take_token

SENT_IF_WAITING = "If an account with that address is waiting for confirmation, we have sent it a new link."


def confirm(app, request, token):
    """Answer the link from the confirmation email: its token goes into a cookie, the browser on to /confirm/link."""
    return take_token(app, request, CONFIRM_EMAIL, token, "confirm_link")


def confirm_link(app, request):
    """Mark the address confirmed if the link just opened is good; otherwise explain, and offer a new link."""
    token = kept_token(app, request, CONFIRM_EMAIL)

    def check_and_confirm(tx):
        """Check the token and confirm the address; return (user row, problem or None)."""
        user, problem = app.tokens.check(tx, CONFIRM_EMAIL, token)
        # The UPDATE only touches an unconfirmed row with the same address:
        # of two clicks at once, one confirms and the other is told "used".
        if not problem and not tx.run("confirm_email", uid=user["uid"], email=user["email"], now=app.now()):
            problem = USED
        return user, problem

    user, problem = app.db.transaction(check_and_confirm)
    if not problem:
        forget_token(app, request, CONFIRM_EMAIL)  # done: a reload finds no link
    signed_in = request.session.user
    if (problem == USED or not token) and signed_in and signed_in["confirmed_at"]:
        # Opened again (from the mail, or reloaded, after it worked) by someone whose
        # address is confirmed: say so, not "This link does not work" with
        # an offer of a new one they do not need (issue 17).
        return app.render(request, "confirm.html", problem=None, already=True, email=signed_in["email"])
    return link_page(app, request, "confirm.html", problem, email=user["email"] if not problem else None,
                     form={"email": ""}, errors={}, already=False)


def confirm_new(app, request):
    """Send a new confirmation link: to the signed-in user, or to an address typed in."""
    errors = {}
    if request.method == "POST":
        if request.session.user:
            return resend_to_user(app, request)
        data, errors = validate_email_field(request.form)
        if not errors:
            # Like /forgot, this form mails an address anyone may type: it
            # shares the forgot-password limit per IP (ASVS 2.2.1).
            limits.check(app, request, limits.FORGOT_PER_IP)
            return resend_to_address(app, request, data["email"])
    return app.render(request, "confirm_new.html", form=typed(request, "email"), errors=errors)


def resend_to_user(app, request):
    """Send the signed-in user a new link, at most once per 5 minutes (sooner: back to the profile, told when)."""
    session = request.session
    if session.user["confirmed_at"]:
        app.db.transaction(lambda tx: app.notices.leave(tx, session, "Your email address is already confirmed."),
                           keep=[session])
        return app.redirect_to(request, "profile")
    user = app.db.one("account_by_uid", uid=session.user["uid"])

    def count(tx):
        """Count the press; over the limit, leave the notice that says when to ask again; return the wait."""
        wait = limits.hit(app, tx, request, limits.CONFIRM_MAIL, user=user)
        if wait:
            app.notices.leave(tx, session, limits.CONFIRM_MAIL.refusal_message(wait))
        return wait

    # Counted in a transaction of its own, as limits.check does, so the
    # count stays whatever happens next. Too soon: not the 429 error page,
    # whose only way on is home, but the profile the button is on, with a
    # notice saying when a new link can be sent (issue 17).
    if app.db.transaction(count, keep=[session]):
        return app.redirect_to(request, "profile")

    def queue(tx):
        """Store the mail and leave the notice; return the outbox id."""
        mail = letters.draft_with_link(app, request, user, user["email"], CONFIRM_EMAIL, "confirm",
                                       letters.confirm_email)
        mail_id = app.outbox.store(tx, mail)
        app.notices.leave(tx, session, f"We have sent a new link to {user['email']}.")
        return mail_id

    mail_id = app.db.transaction(queue, keep=[session])
    return app.outbox.deliver_after(app.redirect_to(request, "profile"), mail_id)


def resend_to_address(app, request, email):
    """Send a new link if an unconfirmed account has this address; answer the same, after the same work, either way."""

    def queue(tx):
        """Count the request, store the mail if an unconfirmed account may have another, leave the notice."""
        mail_ids = []
        user = tx.one("account_by_email", email=email)
        # Counted (and so written) for any address, account or not, and the
        # mail built for any address too (letters.draft_with_link): neither
        # the answer nor the work behind it says whether an account exists.
        wait = limits.hit(app, tx, request, limits.CONFIRM_MAIL, user=user, email=email)
        mail = letters.draft_with_link(app, request, user, email, CONFIRM_EMAIL, "confirm", letters.confirm_email)
        if user is not None and not user["confirmed_at"] and not wait:
            mail_ids.append(app.outbox.store(tx, mail))
        app.notices.leave(tx, request.session, SENT_IF_WAITING)
        return mail_ids

    mail_ids = app.db.transaction(queue, keep=[request.session])
    return app.outbox.deliver_after(app.redirect_to(request, "signin"), *mail_ids)
