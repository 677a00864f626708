"""Email confirmation: the link sent at sign-up, opening it, and asking for a new one."""

from werkzeug.exceptions import TooManyRequests

from .. import emails, throttle
from ..forms import typed, validate_email_field
from ..ratelimit import Limit, account_key, in_minutes
from ..tokens import CONFIRM_EMAIL, EXPIRED, INVALID, TAKEN, USED

# At most one confirmation email per account per 5 minutes (the one sent at
# sign-up counts): enough to replace a lost email, too few to flood a mailbox.
CONFIRM_MAIL_LIMIT = Limit("confirm-mail", 1, 300)
SENT_IF_WAITING = "If an account with that address is waiting for confirmation, we have sent it a new link."

# The status of a page opened from an email link, by what is wrong with the link.
LINK_STATUS = {None: 200, INVALID: 400, EXPIRED: 410, USED: 410, TAKEN: 409}


def link_page(app, request, template, problem, **context):
    """Render a page opened from a link in an email, with the status its problem calls for."""
    # Its URL holds the token: app.add_headers sends Referrer-Policy: no-referrer.
    return app.render(request, template, status=LINK_STATUS[problem], problem=problem, **context)


def queue_confirmation(app, request, tx, user) -> int:
    """Queue the email with a confirmation link for user's address inside tx; return the outbox id."""
    CONFIRM_MAIL_LIMIT.record(tx, account_key(user), app.sessions.now())
    mail = emails.draft_with_link(app, request, user, user["email"], CONFIRM_EMAIL, "confirm", emails.confirm_email)
    return app.outbox.store(tx, mail)


def confirm(app, request, token):
    """Mark the address confirmed if the link is good; otherwise explain, and offer a new link."""
    with app.db.transaction() as tx:
        user, problem = app.tokens.check(tx, CONFIRM_EMAIL, token)
        # The UPDATE only touches an unconfirmed row with the same address:
        # of two clicks at once, one confirms and the other is told "used".
        if not problem and not tx.run("confirm_email", uid=user["uid"], email=user["email"],
                                      now=app.sessions.now()):
            problem = USED
    return link_page(app, request, "confirm.html", problem, email=user["email"] if not problem else None,
                     form={"email": ""}, errors={})


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
            throttle.check_ip(app, request, throttle.FORGOT_PER_IP)
            return resend_to_address(app, request, data["email"])
    return app.render(request, "confirm_new.html", form=typed(request, "email"), errors=errors)


def resend_to_user(app, request):
    """Send the signed-in user a new link, at most once per 5 minutes (429 sooner)."""
    session = request.session
    if session.user["confirmed_at"]:
        with app.db.transaction() as tx:
            app.sessions.notify(tx, session, "Your email address is already confirmed.")
        return app.redirect_to(request, "profile")
    with app.db.transaction() as tx:
        user = tx.one("account_by_uid", uid=session.user["uid"])
        wait = CONFIRM_MAIL_LIMIT.retry_after(tx, account_key(user), app.sessions.now())
        if wait:
            raise TooManyRequests(
                "We sent you a link less than 5 minutes ago. Please look for it in your inbox (and your "
                f"spam folder), or ask for another one in {in_minutes(wait)}.", retry_after=wait)
        mail_id = queue_confirmation(app, request, tx, user)
        app.sessions.notify(tx, session, f"We have sent a new link to {user['email']}.")
    return app.outbox.deliver_after(app.redirect_to(request, "profile"), mail_id)


def resend_to_address(app, request, email):
    """Send a new link if an unconfirmed account has this address; answer the same, after the same work, either way."""
    mail_ids = []
    with app.db.transaction() as tx:
        user = tx.one("account_by_email", email=email)
        # Counted (and so written) for any address, account or not, and the
        # mail built for any address too (emails.draft_with_link): neither
        # the answer nor the work behind it says whether an account exists.
        wait = CONFIRM_MAIL_LIMIT.hit(tx, account_key(user, email), app.sessions.now())
        mail = emails.draft_with_link(app, request, user, email, CONFIRM_EMAIL, "confirm", emails.confirm_email)
        if user is not None and not user["confirmed_at"] and not wait:
            mail_ids.append(app.outbox.store(tx, mail))
        app.sessions.notify(tx, request.session, SENT_IF_WAITING)
    return app.outbox.deliver_after(app.redirect_to(request, "signin"), *mail_ids)
