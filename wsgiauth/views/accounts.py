"""Sign up, sign in, profile and sign out."""

from ..db import IntegrityError
from ..forms import PASSWORD_MAX, typed, validate_signin, validate_signup
from .confirm import queue_confirmation

TAKEN = "That email is already taken"
INVALID_SIGNIN = "Invalid e-mail or password"
# What authenticate() can answer.
SIGNED_IN, FAILED, UNCONFIRMED = "signed in", "failed", "unconfirmed"


def signup(app, request):
    """Show the sign-up form, or create the account, mail the confirmation link and sign in."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors = {}
    if request.method == "POST":
        data, errors = validate_signup(request.form)
        if not errors:
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
    with app.db.transaction() as tx:
        # A cheap look first, so a taken email does not cost a password hash.
        if tx.one("user_uid_by_email", email=data["email"]):
            return {"email": TAKEN}, None
    pwdhash = app.passwords.hash(data["password"])
    try:
        with app.db.transaction() as tx:
            uid = tx.insert("insert_user", firstname=data["firstname"], lastname=data["lastname"],
                            email=data["email"], pwdhash=pwdhash, created_at=app.sessions.now())
            # Same transaction: the account and its confirmation email exist together or not at all.
            mail_id = queue_confirmation(app, request, tx, tx.one("account_by_uid", uid=uid))
            link_sent = f"We have sent a link to {data['email']}: please open it to confirm your email address"
            if app.settings.REQUIRE_CONFIRMED_EMAIL:
                app.sessions.notify(tx, request.session, link_sent + ", then sign in.")
            else:
                app.sessions.begin(tx, request.session, uid)
                app.sessions.notify(tx, request.session, f"Welcome, {data['firstname']}! {link_sent}.")
    except IntegrityError:
        # Two sign-ups raced past the look above: the UNIQUE index on email
        # decides, and the loser gets the same message, not a 500.
        return {"email": TAKEN}, None
    return {}, mail_id


def signin(app, request):
    """Show the sign-in form, or check the password and start a session."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors, outcome = {}, None
    if request.method == "POST":
        data, errors = validate_signin(request.form)
        if not errors:
            outcome = authenticate(app, request, data["email"], data["password"])
        if outcome == SIGNED_IN:
            return app.redirect_to(request, "profile")
    form = typed(request, "email")
    return app.render(request, "signin.html", form=form, errors=errors,
                      failed=outcome == FAILED and INVALID_SIGNIN,
                      # A refusal is 403; its message offers a new link to the address typed.
                      unconfirmed=outcome == UNCONFIRMED and data["email"],
                      status=403 if outcome == UNCONFIRMED else 200)


def authenticate(app, request, email, password):
    """Check email and password; on success sign the browser in. Return SIGNED_IN, FAILED or UNCONFIRMED."""
    with app.db.transaction() as tx:
        user = tx.one("user_for_signin", email=email)
    if len(password) > PASSWORD_MAX:
        return FAILED  # longer than any password we accept: no need to hash
    if user is None:
        app.passwords.check_unknown_user(password)
        return FAILED
    if not app.passwords.check(user["pwdhash"], password):
        return FAILED
    # Told only after the right password: the message cannot be used to
    # find out which addresses have accounts.
    if app.settings.REQUIRE_CONFIRMED_EMAIL and not user["confirmed_at"]:
        return UNCONFIRMED
    with app.db.transaction() as tx:
        app.sessions.begin(tx, request.session, user["uid"])
    return SIGNED_IN


def profile(app, request):
    """Show the signed-in user's profile; send anyone else to sign in."""
    if not request.session.user:
        return app.redirect_to(request, "signin")
    return app.render(request, "profile.html")


def signout(app, request):
    """End the session on POST; on GET show a page with the Sign Out button."""
    if request.method == "POST":
        with app.db.transaction() as tx:
            app.sessions.end(tx, request.session)
        return app.redirect_to(request, "home")
    return app.render(request, "signout.html")
