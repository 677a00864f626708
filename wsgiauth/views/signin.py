"""Sign up, sign in and sign out."""

from werkzeug.utils import redirect

from .. import audit, letters, limits
from ..db import IntegrityError
from ..forms import typed, validate_signin, validate_signup
from ..redirects import location, safe_next

EMAIL_TAKEN = "That email is already taken"
INVALID_SIGNIN = "Invalid e-mail or password"
# What authenticate() can answer.
SIGNED_IN, FAILED, UNCONFIRMED, THROTTLED = "signed in", "failed", "unconfirmed", "throttled"
# The sign-in page's status for each refusal: the account's backoff is 429
# (with Retry-After), an unconfirmed address 403.
SIGNIN_STATUS = {THROTTLED: 429, UNCONFIRMED: 403}


def signup(app, request):
    """Show the sign-up form, or create the account, mail the confirmation link and sign in."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors = {}
    if request.method == "POST":
        data, errors = validate_signup(request.form, app.common_passwords)
        if not errors:
            # Counted once the form is valid: only those attempts probe
            # emails or cost a hash. Over the limit: 429 (ASVS 2.2.1).
            limits.check(app, request, limits.SIGNUP_PER_IP)
            errors, mail_id = create_account(app, request, data)
        if not errors:
            # With WSGIAUTH_REQUIRE_CONFIRMED_EMAIL the account may only sign
            # in once the link is opened: no session yet.
            target = "signin" if app.settings.REQUIRE_CONFIRMED_EMAIL else "profile"
            return app.outbox.deliver_after(app.redirect_to(request, target), mail_id)
    return app.render(request, "signup.html", form=typed(request, "firstname", "lastname", "email"),
                      errors=errors)


def create_account(app, request, data):
    """Insert the user, queue the confirmation email, sign in; return (form errors, outbox id)."""
    # A cheap look first, so a taken email does not cost a password hash.
    # Saying so is an accepted risk (SECURITY.md, issue 11 finding 2c).
    if app.db.one("user_uid_by_email", email=data["email"]):
        return {"email": EMAIL_TAKEN}, None
    pwdhash = app.passwords.hash(data["password"])

    def create(tx):
        """Insert the account, queue its confirmation email, sign in or leave a notice; return the outbox id."""
        uid = tx.insert("insert_user", firstname=data["firstname"], lastname=data["lastname"],
                        email=data["email"], pwdhash=pwdhash, created_at=app.now())
        audit.record(app, tx, request, "signup", uid=uid)
        # Same transaction: the account and its confirmation email exist together or not at all.
        mail_id = letters.queue_confirmation(app, request, tx, tx.one("account_by_uid", uid=uid))
        link_sent = f"We have sent a link to {data['email']}: please open it to confirm your email address"
        if app.settings.REQUIRE_CONFIRMED_EMAIL:
            app.notices.leave(tx, request.session, link_sent + ", then sign in.")
        else:
            app.sessions.begin(tx, request, uid)
            app.notices.leave(tx, request.session, f"Welcome, {data['firstname']}! {link_sent}.")
        return mail_id

    try:
        return {}, app.db.transaction(create, keep=[request.session])
    except IntegrityError:
        # Two sign-ups raced past the look above: the UNIQUE index on email
        # decides, and the loser gets the same message, not a 500. (On a
        # Galera cluster the loser's COMMIT fails certification first; the
        # retry then meets the winner's row here.)
        return {"email": EMAIL_TAKEN}, None


def signin(app, request):
    """Show the sign-in form, or check the password and start a session."""
    # Where to go afterwards: a page of this site, or of an application
    # the operator listed for forward authentication; else the profile.
    next_target = safe_next(request, request.values.get("next"), app.forward_auth_origins)
    if request.session.user:
        return after_signin(app, request, next_target)
    errors, outcome, wait = {}, None, 0
    if request.method == "POST":
        data, errors = validate_signin(request.form)
        if not errors:
            limits.check(app, request, limits.SIGNIN_PER_IP)
            outcome, wait = authenticate(app, request, data)
            if outcome == SIGNED_IN:
                return after_signin(app, request, next_target)
    alert = limits.try_again(wait) if outcome == THROTTLED else outcome == FAILED and INVALID_SIGNIN
    response = app.render(request, "signin.html", status=SIGNIN_STATUS.get(outcome, 200),
                          form=typed(request, "email"), errors=errors, failed=alert,
                          # The refusal's message offers a new link to the address typed.
                          unconfirmed=outcome == UNCONFIRMED and data["email"],
                          remember=typed(request, "remember")["remember"], next=next_target,
                          passkeys=app.passkeys is not None)
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


def after_signin(app, request, next_target):
    """Redirect to the checked `next` page, else to the profile."""
    if next_target:
        return redirect(location(request, next_target), code=303)
    return app.redirect_to(request, "profile")


def authenticate(app, request, data):
    """Check email and password, and sign in; return (outcome, seconds to wait): SIGNED_IN on success."""
    email, password = data["email"], data["password"]
    user = app.db.one("user_for_signin", email=email)
    # Throttled first, so a throttled attempt costs no hash. The backoff is
    # keyed by the email typed, known or not: the answer is the same either
    # way and reveals nothing (ASVS 2.2.1).
    right, wait = limits.verify_password(app, request, user, email, password)
    if wait:
        return THROTTLED, wait
    if not right:
        return FAILED, 0
    # Told only after the right password: the message cannot be used to
    # find out which addresses have accounts. Not a sign-in, so the count
    # of failures and the stored hash stay as they are.
    if app.settings.REQUIRE_CONFIRMED_EMAIL and not user["confirmed_at"]:
        app.db.transaction(lambda tx: audit.record(app, tx, request, "signin_unconfirmed", uid=user["uid"]))
        return UNCONFIRMED, 0
    # Hash upgrade: the password is known to be right only now, so this is
    # the one moment an old hash can be replaced by one with today's method.
    new_hash = app.passwords.hash(password) if app.passwords.needs_rehash(user["pwdhash"]) else None

    def sign_in(tx):
        """Store the new hash if any, reset the failure count, begin the session."""
        if new_hash:
            tx.run("change_password", uid=user["uid"], new_pwdhash=new_hash, old_pwdhash=user["pwdhash"])
        limits.PASSWORD_PER_ACCOUNT.clear(tx, email)  # a correct sign-in resets the count
        app.sessions.begin(tx, request, user["uid"], remember=data["remember"])
        audit.record(app, tx, request, "signin", uid=user["uid"])

    app.db.transaction(sign_in, keep=[request.session])
    return SIGNED_IN, 0


def signout(app, request):
    """End the session on POST; on GET show a page with the Sign Out button."""
    if request.method == "POST":

        def sign_out(tx):
            """Record the sign-out and delete the session row."""
            if request.session.user:
                audit.record(app, tx, request, "signout", uid=request.session.user["uid"])
            app.sessions.end(tx, request.session)

        app.db.transaction(sign_out, keep=[request.session])
        return app.redirect_to(request, "home")
    return app.render(request, "signout.html")
