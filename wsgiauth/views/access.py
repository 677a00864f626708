"""Confirm access ("sudo mode"): sensitive pages and changes need the password typed in the last few minutes.

How it works, for learners. A session remembers when its user last proved
who they are (sessions.access_confirmed_at, server side, ended with the
session): signing in sets it, and so does this module's Confirm access page.
The endpoints listed in routes.CONFIRMED (the account settings page, changing
the email or the password, deleting the account, signing out the other
sessions) need it within WSGIAUTH_CONFIRM_ACCESS_MINUTES; the dispatcher
checks that before their view runs (app.dispatch_request, through required()
here), so a view cannot forget to. Without a fresh confirmation:

- a page (GET) sends the browser to /confirm-access?next=<the page>, which
  sends it back once the password is right;
- a form (POST), whose window ran out while the person was typing, is not
  carried out; the answer is the Confirm access page itself, carrying the
  form's target and its non-secret fields as hidden inputs (routes.CONFIRMED
  names them: an allow list). Once the password is right, the form is carried
  out with those fields, as if it had just been sent, so nothing typed is lost
  and nothing is done twice. A form whose fields include a secret (a new
  password, a code from an app) carries nothing: passwords are never written into a page, so the
  browser returns to the form with a notice to type it again.

The password is checked by limits.verify_password, like every password in the
app: the account's backoff is the sign-in page's, a throttled attempt costs
no hash, each failure is counted and audited, and the 5th wrong password in
one session ends it. Every way of proving who one is goes through prove()
here, so a second one (a code from an authenticator app) is added in one place.
"""

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect

from .. import audit, factors, limits, passkeys
from ..forms import validate_code
from ..redirects import here, local_path, location, plain
from .signin import has_passkeys

WRONG_PASSWORD = "That is not your password."
WRONG_CODE = "That code is not right, or it has been used already."
EMPTY_PASSWORD = "Please enter your password."
SIGNED_OUT_AFTER_FAILURES = ("You have been signed out because the password was typed wrongly too many times. "
                             "Please sign in again.")
TYPE_AGAIN = "Access confirmed. Please type the new password or the code again: they are never kept in a page."
# Hidden inputs of the Confirm access page: the original form's target, and
# each of its carried fields under this prefix (never clashing with our own).
THEN, CARRIED = "then", "carried-"


def confirmed_recently(app, session) -> bool:
    """Say whether this session's user proved who they are within WSGIAUTH_CONFIRM_ACCESS_MINUTES."""
    at = session.access_confirmed_at
    return at is not None and app.now() - int(at) < app.settings.CONFIRM_ACCESS_MINUTES * 60


def required(app, request, endpoint, carried):
    """Return None when access is confirmed recently enough, else the answer that asks to confirm it first."""
    # ASVS 5.0 7.5.1 / 7.5.2: full re-authentication before a change to what
    # signs in (email, password, second factors) or ends other sessions. A
    # stolen cookie or an unlocked computer alone is not enough.
    if confirmed_recently(app, request.session):
        return None
    if request.method == "GET":
        return redirect(app.url_for(request, "confirm_access", next=here(request)), code=303)
    # The form was not carried out: 403, with the page that carries it on.
    fields = {} if isinstance(carried, str) else {name: request.form.get(name, "") for name in carried}
    return show(app, request, status=403, then=request.path, fields=fields, secret=isinstance(carried, str))


def show(app, request, errors=None, status=200, next_target=None, then=None, fields=None, secret=False):
    """Render the Confirm access page: for a page to return to (next), or a form to carry out (then, fields)."""
    # With an authenticator app, its code proves it too (in place of the password).
    uid = request.session.user["uid"]
    has_app = factors.app_factor(app.db, uid) is not None
    return app.render(request, "confirm_access.html", status=status, errors=errors or {}, next=next_target,
                      then=then, fields=fields or {}, carried_prefix=CARRIED, secret=secret, has_app=has_app,
                      passkeys=has_passkeys(app, uid), minutes=app.settings.CONFIRM_ACCESS_MINUTES)


def pending_form(app, request):
    """Return (endpoint, values, carried) of the form the page carries, or None if it names none we know."""
    then = request.form.get(THEN)
    # Only a path of ours, matched against the URL map as a POST to an
    # endpoint that needs confirming: nothing else can be run from here.
    if not plain(then) or not then.startswith("/") or then.startswith("//"):
        return None
    try:
        endpoint, values = request.adapter.match(then, method="POST")
    except HTTPException:  # 404, 405 (a page, not a form), or a redirect
        return None
    carried = app.confirmed_endpoints.get(endpoint)
    if carried is None:
        return None
    # The same groups rule as the dispatcher's: a form carried through here
    # runs only if this user could have sent it directly (403 otherwise).
    app.authorize(request, endpoint)
    return endpoint, values, carried


def confirm_access(app, request):
    """Show the Confirm access page, or check the password and go on: to the page, or through the form."""
    next_target = local_path(request, request.values.get("next"))
    pending = pending_form(app, request) if request.method == "POST" else None
    then = request.form.get(THEN) if pending else None
    carried = pending[2] if pending else ()
    secret = isinstance(carried, str)
    fields = {} if secret else {name: request.form.get(CARRIED + name, "") for name in carried}
    if request.method == "GET":
        return show(app, request, next_target=next_target)
    errors = {}
    proved, wait, answer = prove(app, request, errors)
    if answer is not None:  # the session was ended
        return answer
    if not proved:
        # A passkey answer refused is a 400, as on the sign-in pages.
        status = 429 if wait else 400 if "passkey" in errors else 200
        response = show(app, request, errors, status=status, next_target=next_target, then=then,
                        fields=fields, secret=secret)
        if wait:
            response.headers["Retry-After"] = str(wait)
        return response

    def confirm(tx):
        """Record the confirmation in this session's row and in the audit trail."""
        app.sessions.confirm_access(tx, request.session)
        audit.record(app, tx, request, "access_confirmed", uid=request.session.user["uid"])
        if secret:
            app.notices.leave(tx, request.session, TYPE_AGAIN)

    app.db.transaction(confirm, keep=[request.session])
    if pending and not secret:
        # The form, carried out now with the fields it was sent with: the
        # view answers as it would have (its redirect, or its form errors).
        endpoint, values, _ = pending
        request.form = ImmutableMultiDict(fields)
        return app.call_view(request, endpoint, values)
    if pending:
        endpoint, section = carried.partition("#")[::2]
        return redirect(app.url_for(request, endpoint) + (f"#{section}" if section else ""), code=303)
    if next_target:
        return redirect(location(request, next_target), code=303)
    return app.redirect_to(request, "profile")


def prove(app, request, errors):
    """Check what was typed to prove who is using this session; return (proved, seconds to wait, answer or None)."""
    # The one place that decides: a second way (a code from an authenticator
    # app) goes here too, next to the password.
    password = request.form.get("password", "")
    code, code_errors = validate_code(request.form)
    # A passkey's answer (issue 15), filled in by passkeys.js, is checked first.
    field = "passkey" if request.form.get("credential") else "password" if password or code_errors else "code"
    if field == "password" and not password:
        errors["password"] = EMPTY_PASSWORD
        return False, 0, None  # nothing to check: no hash, nothing counted
    user = app.db.one("account_by_uid", uid=request.session.user["uid"])
    # ASVS 5.0 6.3.1 (ASVS 4.0.3 2.2.1): the sign-in page's backoff, shared;
    # audited as access_confirm_failed / access_confirm_throttled. A code
    # from the app (not a recovery code: those are for signing in without
    # the phone), or this user's passkey (ASVS 5.0 7.5.1: a factor as strong
    # as the password), is checked under the same count.
    refused = None
    if field == "passkey":
        passkey, wait, refused = passkeys.account_proof(app, request, passkeys.CONFIRM, user, "access_confirm")
        right = passkey is not None
    elif field == "password":
        right, wait = limits.verify_password(app, request, user, user["email"], password, event="access_confirm")
    else:
        method, wait = limits.verify(app, request, user, user["email"], lambda: app.db.transaction(
            lambda tx: factors.check(tx, user["uid"], code, app.now(), app.settings.TOTP_DRIFT)
            if len(code) == 6 else None),
            event="access_confirm")
        right = bool(method)
    if right:
        return True, 0, None
    if wait:
        errors[field] = limits.try_again(wait)
        return False, wait, None
    if limits.session_failures_exhausted(app, request):
        # Whoever holds this session is not its owner, or cannot prove it:
        # the owner signs in again with the password.
        def sign_out(tx):
            """Record why, end the session, leave the notice for the sign-in page."""
            audit.record(app, tx, request, "signout_wrong_passwords", uid=user["uid"])
            app.sessions.end(tx, request.session)
            app.notices.leave(tx, request.session, SIGNED_OUT_AFTER_FAILURES)

        app.db.transaction(sign_out, keep=[request.session])
        return False, 0, app.redirect_to(request, "signin")
    errors[field] = refused or (WRONG_PASSWORD if field == "password" else WRONG_CODE)
    return False, 0, None
