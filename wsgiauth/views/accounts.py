"""Sign up, sign in, profile and sign out."""

from ..db import IntegrityError
from ..forms import PASSWORD_MAX, validate_signin, validate_signup

TAKEN = "That email is already taken"
INVALID_SIGNIN = "Invalid e-mail or password"


def typed(request, *fields):
    """Return what the user typed into fields, to re-show the form (never a password)."""
    if request.method != "POST":
        return dict.fromkeys(fields, "")  # nothing typed yet: no body to parse
    return {field: request.form.get(field, "") for field in fields}


def signup(app, request):
    """Show the sign-up form, or create the account and sign it in."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors = {}
    if request.method == "POST":
        data, errors = validate_signup(request.form)
        if not errors:
            errors = create_account(app, request, data)
        if not errors:
            return app.redirect_to(request, "profile")
    return app.render(request, "signup.html", form=typed(request, "firstname", "lastname", "email"),
                      errors=errors)


def create_account(app, request, data):
    """Insert the user and sign them in; return form errors ({} on success)."""
    with app.db.transaction() as tx:
        # A cheap look first, so a taken email does not cost a password hash.
        if tx.one("user_uid_by_email", email=data["email"]):
            return {"email": TAKEN}
    pwdhash = app.passwords.hash(data["password"])
    try:
        with app.db.transaction() as tx:
            uid = tx.insert("insert_user", firstname=data["firstname"], lastname=data["lastname"],
                            email=data["email"], pwdhash=pwdhash, created_at=app.sessions.now())
            app.sessions.begin(tx, request.session, uid)
    except IntegrityError:
        # Two sign-ups raced past the look above: the UNIQUE index on email
        # decides, and the loser gets the same message, not a 500.
        return {"email": TAKEN}
    return {}


def signin(app, request):
    """Show the sign-in form, or check the password and start a session."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors, failed = {}, False
    if request.method == "POST":
        data, errors = validate_signin(request.form)
        if not errors:
            failed = not authenticate(app, request, data["email"], data["password"])
        if not errors and not failed:
            return app.redirect_to(request, "profile")
    return app.render(request, "signin.html", form=typed(request, "email"), errors=errors,
                      failed=failed and INVALID_SIGNIN)


def authenticate(app, request, email, password):
    """Check email and password; on success sign the browser in and return True."""
    with app.db.transaction() as tx:
        user = tx.one("user_for_signin", email=email)
    if len(password) > PASSWORD_MAX:
        return False  # longer than any password we accept: no need to hash
    if user is None:
        return app.passwords.check_unknown_user(password)
    if not app.passwords.check(user["pwdhash"], password):
        return False
    with app.db.transaction() as tx:
        app.sessions.begin(tx, request.session, user["uid"])
    return True


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
