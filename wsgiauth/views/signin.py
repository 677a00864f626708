"""Sign up, sign in and sign out."""

from werkzeug.utils import redirect

from .. import accounts, audit, client, factors, letters, limits, passkeys
from ..db import IntegrityError
from ..forms import refilled, typed, validate_code, validate_signin, validate_signup
from ..passwords import refuse_breached
from ..redirects import location, safe_next
from ..sessions import hash_id

EMAIL_TAKEN = "That email is already taken"
INVALID_SIGNIN = "Invalid e-mail or password"
# What authenticate() can answer.
SIGNED_IN, FAILED, UNCONFIRMED, THROTTLED = "signed in", "failed", "unconfirmed", "throttled"
LOCKED = "locked"
ACCOUNT_LOCKED = "This account is locked. If you think this is a mistake, please write to us on the Contact page."
CODE_NEEDED = "code needed"
WRONG_CODE = ("That code is not right, or it has been used already. Codes change every 30 seconds: "
              "type the one your app shows now.")
# After a sign-up that must confirm first (WSGIAUTH_REQUIRE_CONFIRMED_EMAIL).
CONFIRM_FIRST = ("We have sent a link to the address you gave: please open it to confirm your email address, "
                 "then sign in.")
SIGNIN_EXPIRED = "Your sign-in took more than 5 minutes, or was started in another browser. Please sign in again."
# How each way of signing in is written in the audit trail and shown in the
# sign-in history (security.html).
METHOD_PASSWORD, METHOD_APP, METHOD_RECOVERY = "password", "password+app", "password+recovery code"
METHOD_PASSWORD_PASSKEY = "password+passkey"
NEW_PLACE_DAYS = 90  # a browser and network unused this long make a sign-in worth a mail
# The sign-in page's status for each refusal: the account's backoff is 429
# (with Retry-After), an unconfirmed address 403.
SIGNIN_STATUS = {THROTTLED: 429, UNCONFIRMED: 403, LOCKED: 403}


def signup(app, request):
    """Show the sign-up form, or create the account, mail the confirmation link and sign in."""
    if request.session.user:
        return app.redirect_to(request, "profile")
    errors = {}
    if request.method == "POST":
        data, errors = validate_signup(request.form, app.common_passwords, app.context_words)
        if not errors:
            # Counted once the form is valid: only those attempts probe
            # emails or cost a hash. Over the limit: 429 (ASVS 2.2.1).
            limits.check(app, request, limits.SIGNUP_PER_IP)
            errors = refuse_breached(app.settings, data["password"], errors, "password")
        if not errors:
            errors, mail_id = create_account(app, request, data)
        if not errors:
            # With WSGIAUTH_REQUIRE_CONFIRMED_EMAIL the account may only sign
            # in once the link is opened: no session yet.
            target = "signin" if app.settings.REQUIRE_CONFIRMED_EMAIL else "profile"
            return app.outbox.deliver_after(app.redirect_to(request, target), mail_id)
    return app.render(request, "signup.html", shared=request.method == "GET" and not request.args,
                      form=typed(request, "firstname", "lastname", "email"), errors=errors)


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
                        email=data["email"], pwdhash=pwdhash, created_at=app.now(),
                        name_key=accounts.name_key(data["firstname"], data["lastname"]))
        audit.record(app, tx, request, "signup", uid=uid)
        # Same transaction: the account and its confirmation email exist together or not at all.
        mail_id = letters.queue_confirmation(app, request, tx, tx.one("account_by_uid", uid=uid))
        if app.settings.REQUIRE_CONFIRMED_EMAIL:
            # No session yet, so this notice travels in a cookie the browser
            # can read (signed, not encrypted): never the address (ASVS 5.0
            # 14.3.3). Signing in before confirming shows it, server-side,
            # with the button for a new link.
            app.notices.leave(tx, request.session, CONFIRM_FIRST)
        else:
            app.sessions.begin(tx, request, uid)
            app.notices.leave(tx, request.session, f"Welcome, {data['firstname']}! We have sent a link to "
                                                   f"{data['email']}: please open it to confirm your email address.")
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
    # (`next` of an expired sign-in form shown again comes from what it held.)
    wanted = request.values.get("next", refilled(request).get("next"))
    next_target = safe_next(request, wanted, app.forward_auth_origins)
    if request.session.user:
        return after_signin(app, request, next_target)
    errors, outcome, wait = {}, None, 0
    if request.method == "POST":
        data, errors = validate_signin(request.form)
        if not errors:
            limits.check(app, request, limits.SIGNIN_PER_IP)
            outcome, wait, mail_ids = authenticate(app, request, data)
            if outcome == SIGNED_IN:
                return app.outbox.deliver_after(after_signin(app, request, next_target), *mail_ids)
            if outcome == CODE_NEEDED:
                # ASVS 6.3.3: the password alone does not sign in; the code page
                # finishes it, and takes `next` along (checked again there).
                return app.redirect_to(request, "signin_code", **({"next": next_target} if next_target else {}))
    alert = {THROTTLED: limits.try_again(wait), FAILED: INVALID_SIGNIN, LOCKED: ACCOUNT_LOCKED}.get(outcome)
    response = app.render(request, "signin.html", status=SIGNIN_STATUS.get(outcome, 200),
                          # The bare form (no query values, nothing sent) is the same for every visitor.
                          shared=request.method == "GET" and not request.args,
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
    """Check email and password, and sign in; return (outcome, seconds to wait, outbox ids to deliver)."""
    email, password = data["email"], data["password"]
    user = app.db.one("user_for_signin", email=email)
    # Throttled first, so a throttled attempt costs no hash. The backoff is
    # keyed by the email typed, known or not: the answer is the same either
    # way and reveals nothing (ASVS 2.2.1).
    right, wait = limits.verify_password(app, request, user, email, password)
    if wait:
        return THROTTLED, wait, []
    if not right:
        return FAILED, 0, []
    # Told only after the right password: the message cannot be used to
    # find out which addresses have accounts. Not a sign-in, so the count
    # of failures and the stored hash stay as they are. A lock (issue 16,
    # accounts.lock) is said the same way: to others a locked account
    # answers "Invalid e-mail or password" like any other.
    if user["locked_at"]:
        app.db.transaction(lambda tx: audit.record(app, tx, request, "signin_locked", uid=user["uid"]))
        return LOCKED, 0, []
    if app.settings.REQUIRE_CONFIRMED_EMAIL and not user["confirmed_at"]:
        app.db.transaction(lambda tx: audit.record(app, tx, request, "signin_unconfirmed", uid=user["uid"]))
        return UNCONFIRMED, 0, []
    # Hash upgrade: the password is known to be right only now, so this is
    # the one moment an old hash can be replaced by one with today's method.
    new_hash = app.passwords.hash(password) if app.passwords.needs_rehash(user["pwdhash"]) else None
    if new_hash:
        app.db.transaction(lambda tx: tx.run("change_password", uid=user["uid"], new_pwdhash=new_hash,
                                             old_pwdhash=user["pwdhash"]))
    if factors.app_factor(app.db, user["uid"]) or passkey_step_required(app, user["uid"]):
        ask_for_code(app, request, user, data["remember"])
        return CODE_NEEDED, 0, []
    return SIGNED_IN, 0, begin_signed_in(app, request, user["uid"], email, data["remember"], METHOD_PASSWORD)


def passkey_step_required(app, uid) -> bool:
    """Say whether a password sign-in must end with one of the account's passkeys (it has no authenticator app)."""
    # ASVS 5.0 6.3.3: where WSGIAUTH_REQUIRE_SECOND_FACTOR covers the
    # account, its passkey is its second factor only if the password alone
    # cannot sign it in. Elsewhere a passkey is another way in, not a step.
    if app.second_factor_scope is None or not has_passkeys(app, uid):
        return False
    return app.second_factor_required({"groups": accounts.member_of(app.db, uid)})


def begin_signed_in(app, request, uid, email, remember, method, work=None):
    """Run work(tx) if given, reset the failure count, begin the session, record the sign-in; return outbox ids.

    work(tx) may return the outbox id of a mail it queued; the new-browser
    notice adds another. The caller hands them to deliver_after.
    """
    def sign_in(tx):
        """Everything a sign-in changes, together (work first: it still sees the browser's old session id)."""
        mail_ids = [work(tx)] if work else []
        # ASVS 5.0 6.3.5: a sign-in from a browser and network this account
        # has not used for 90 days is mailed to it, so its owner can react.
        # An account's very first sign-in (one an operator made) has nothing
        # to compare with: no mail.
        places = tx.all("recent_signin_places", uid=uid, since=app.now() - NEW_PLACE_DAYS * 24 * 3600)
        if client.is_new_place(places, client.ip(request), client.agent(request)) and (
                places or tx.one("ever_signed_in", uid=uid)):
            mail_ids.append(letters.queue_new_place_notice(app, request, tx, tx.one("account_by_uid", uid=uid)))
        limits.PASSWORD_PER_ACCOUNT.clear(tx, email)  # a correct sign-in resets the count
        app.sessions.begin(tx, request, uid, remember=remember)
        audit.record(app, tx, request, "signin", uid=uid, detail=method)
        return [mail_id for mail_id in mail_ids if mail_id]

    return app.db.transaction(sign_in, keep=[request.session])


def ask_for_code(app, request, user, remember):
    """Remember, for 5 minutes and this browser only, that the password was right; no session begins yet."""
    # Keyed by the browser's current (anonymous) session id, which the code
    # page reads from the signed cookie: a half sign-in cannot be carried to
    # another browser, and it is no session: no page but the code page
    # accepts it. The failure count is not reset until the code is right, so
    # knowing the password buys no extra guesses at the code.
    session = request.session
    session.needs_cookie = session.needs_cookie or not session.has_cookie

    def remember_password_was_right(tx):
        """Replace any earlier half sign-in of this browser."""
        tx.run("delete_pending_signin", id_hash=hash_id(session.sid))
        tx.run("insert_pending_signin", id_hash=hash_id(session.sid), uid=user["uid"], remember=int(remember),
               expires_at=app.now() + factors.PENDING_SECONDS)
        audit.record(app, tx, request, "signin_code_asked", uid=user["uid"])

    app.db.transaction(remember_password_was_right)


def signin_code(app, request):
    """Ask for the authenticator app's code (or a recovery code) after the right password; then sign in."""
    next_target = safe_next(request, request.values.get("next"), app.forward_auth_origins)
    if request.session.user:
        return after_signin(app, request, next_target)
    session = request.session
    pending = app.db.one("pending_signin", id_hash=hash_id(session.sid), now=app.now())
    if pending is None:
        # Expired, finished already, or never started in this browser.
        app.db.transaction(lambda tx: app.notices.leave(tx, session, SIGNIN_EXPIRED), keep=[session])
        return app.redirect_to(request, "signin", **({"next": next_target} if next_target else {}))
    errors, wait, status = {}, 0, 200
    if request.method == "POST" and request.form.get("credential"):
        # A passkey in place of the code (issue 15): it must be one of this
        # account's, for the challenge made for it; the per-IP limit and the
        # account's backoff apply as to a code (ASVS 5.0 6.3.1, 6.3.3).
        limits.check(app, request, limits.SIGNIN_PER_IP)
        passkey, wait, refused = passkeys.account_proof(app, request, passkeys.SECOND_STEP, pending, "signin_code")
        if passkey:
            mail_ids = finish_signin(app, request, pending, "passkey")
            return app.outbox.deliver_after(after_signin(app, request, next_target), *mail_ids)
        errors["passkey"] = limits.try_again(wait) if wait else refused
        status = 400
    elif request.method == "POST":
        code, errors = validate_code(request.form)
        if not errors:
            method, wait = limits.verify(app, request, pending, pending["email"],
                                         lambda: app.db.transaction(
                                             lambda tx: factors.check(tx, pending["uid"], code, app.now(),
                                                                      app.settings.TOTP_DRIFT)),
                                         event="signin_code")
            if method:
                mail_ids = finish_signin(app, request, pending, method)
                return app.outbox.deliver_after(after_signin(app, request, next_target), *mail_ids)
            errors["code"] = limits.try_again(wait) if wait else WRONG_CODE
    response = app.render(request, "signin_code.html", status=429 if wait else status, errors=errors,
                          next=next_target, passkeys=has_passkeys(app, pending["uid"]),
                          app_code=factors.app_factor(app.db, pending["uid"]) is not None)
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


def has_passkeys(app, uid) -> bool:
    """Say whether a passkey can be offered in place of a code or a password: passkeys offered, and uid has one."""
    return app.passkeys is not None and bool(app.db.all("passkeys_of_user", uid=uid))


def finish_signin(app, request, pending, method):
    """Begin the session of a half sign-in whose code or passkey was right; return the outbox ids of the notices due."""
    def work(tx):
        """Drop the half sign-in; after a recovery code, tell the owner how many are left."""
        tx.run("delete_pending_signin", id_hash=hash_id(request.session.sid))
        if method != "recovery code":
            return None
        left = tx.one("recovery_codes_left", uid=pending["uid"])["n"]
        audit.record(app, tx, request, "recovery_code_used", uid=pending["uid"], detail=left)
        return letters.queue_recovery_code_notice(app, request, tx, pending, left)

    method_name = {"app": METHOD_APP, "passkey": METHOD_PASSWORD_PASSKEY}.get(method, METHOD_RECOVERY)
    return begin_signed_in(app, request, pending["uid"], pending["email"], bool(pending["remember"]), method_name,
                           work=work)


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
