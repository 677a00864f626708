"""The sign-in security page: the authenticator app and recovery codes, where the account is signed in, and
its recent sign-ins."""

from .. import audit, factors, letters, qrcodes, totp
from ..forms import validate_code

WRONG_SETUP_CODE = ("That is not the code your app shows now. Codes change every 30 seconds: type the one "
                    "your app shows now. Check that the app has the key below, and that your phone's clock is right.")
APP_REMOVED = "The authenticator app has been removed. Signing in now asks for your password only."
# WSGIAUTH_REQUIRE_SECOND_FACTOR (ASVS 5.0 6.3.3): the last factor stays, as
# GitHub keeps two-factor authentication on for members of an organisation
# that requires it; a lost one is replaced by the admin procedure (SECURITY.md).
LAST_FACTOR = ("This site requires a second factor for your account, so the last one cannot be removed. "
               "Add another (an authenticator app or a passkey) first.")
# How the sign-in history names each way of signing in (the audit trail's detail).
METHODS = {"password": "Password", "password+app": "Password + authenticator app",
           "password+recovery code": "Password + recovery code", "passkey": "Passkey",
           "password+passkey": "Password + passkey"}


def security(app, request):
    """Show the authenticator app's state, the live sessions and recent sign-ins."""
    # Here, not on the profile: the profile is the page every sign-in lands
    # on and stays light. This page's rows came with the session lookup
    # (routes.SESSION_LOOKUPS), the app's state in the user's row (app_since,
    # recovery_codes_left).
    user = request.session.user
    sessions, signins, capped = page_rows(request.session)
    # WSGIAUTH_REQUIRE_SECOND_FACTOR: why every other page sends the user here.
    required = app.needs_second_factor(user)
    # None when passkeys are not offered: templates/_passkeys.html then shows nothing.
    passkeys = None
    if app.passkeys:
        passkeys = app.db.all("passkeys_of_user", uid=user["uid"])
    return app.render(request, "security.html", sessions=sessions, signins=signins, methods=METHODS,
                      passkeys=passkeys, required=required, capped=capped, max_sessions=app.settings.MAX_SESSIONS)


def page_rows(session) -> tuple:
    """Return the Security page's (live sessions, last 10 sign-ins, last 5 that ended a session) from its lookup."""
    kinds = {kind: [row for row in session.page_rows if row["kind"] == kind] for kind in ("session", "signin", "limit")}
    # Most recently used first; events newest first (seq: the order of two in one second).
    kinds["session"].sort(key=lambda row: row["last_seen"], reverse=True)
    for kind in ("signin", "limit"):
        kinds[kind].sort(key=lambda row: (row["at"], row["seq"]), reverse=True)
    return kinds["session"], kinds["signin"][:10], kinds["limit"][:5]


def signout_others(app, request):
    """End every other session of the signed-in user ("Sign out everywhere else")."""
    def sign_out_others(tx):
        """End the other sessions and record how many."""
        ended = app.sessions.end_others(tx, request.session)
        audit.record(app, tx, request, "signout_others", uid=request.session.user["uid"], detail=ended)

    app.db.transaction(sign_out_others)
    return app.redirect_to(request, "security")


def app_setup(app, request):
    """POST: make a new key for an authenticator app; GET: show the key being set up, and ask for its first code."""
    uid = request.session.user["uid"]
    if request.method == "POST":
        app.db.transaction(lambda tx: factors.begin_setup(tx, uid, app.now()))
        return app.redirect_to(request, "app_setup")
    return show_setup(app, request)


def show_setup(app, request, errors=None):
    """Render the set-up page for the key being set up; without one, go back to the security page."""
    uid = request.session.user["uid"]
    row = app.db.one("totp_factor", uid=uid)
    if row is None or row["confirmed_at"]:
        return app.redirect_to(request, "security")
    key = totp.decode_key(row["secret"])
    uri = totp.otpauth_uri(app.settings.SITE_NAME, request.session.user["email"], key)
    qr = qrcodes.svg(uri, title=f"QR code to add {request.session.user['email']} to an authenticator app")
    return app.render(request, "app_setup.html", key=totp.grouped(row["secret"]), uri=uri, qr=qr,
                      errors=errors or {})


def app_confirm(app, request):
    """Finish setting up the app when its first code is right: make and show the recovery codes, once."""
    user = request.session.user
    code, errors = validate_code(request.form)
    if errors:
        return show_setup(app, request, errors)
    row = app.db.one("totp_factor", uid=user["uid"])
    if row is None or row["confirmed_at"]:
        return app.redirect_to(request, "security")
    recovery_set = factors.new_recovery_set()

    def turn_on(tx):
        """Confirm the key, make recovery codes, record and mail it; return (codes, mail id), or Nones if wrong."""
        if not factors.finish_setup(tx, user["uid"], row["secret"], code, app.now(),
                                    app.settings.TOTP_DRIFT):
            return None, None
        codes = factors.store_recovery_codes(tx, user["uid"], recovery_set, app.now())
        audit.record(app, tx, request, "authenticator_added", uid=user["uid"])
        return codes, letters.queue_factor_notice(app, request, tx, user, letters.authenticator_added)

    codes, mail_id = app.db.transaction(turn_on)
    if codes is None:
        return show_setup(app, request, {"code": WRONG_SETUP_CODE})
    return app.outbox.deliver_after(show_codes(app, request, codes, first=True), mail_id)


def show_codes(app, request, codes, first):
    """Render a new set of recovery codes: the only time they are ever shown."""
    return app.render(request, "recovery_codes.html", codes=codes, first=first,
                      text="\n".join([f"Recovery codes for {request.session.user['email']} at {app.settings.SITE_NAME}",
                                      "Each works once, in place of a code from your authenticator app.", "",
                                      *codes, ""]))


def recovery_codes(app, request):
    """Replace the recovery codes with a new set and show it (the old ones stop working)."""
    user = request.session.user
    if not factors.app_factor(app.db, user["uid"]):
        return app.redirect_to(request, "security")
    recovery_set = factors.new_recovery_set()

    def renew(tx):
        """Store the new set, record and mail it; return (codes, outbox id)."""
        codes = factors.store_recovery_codes(tx, user["uid"], recovery_set, app.now())
        audit.record(app, tx, request, "recovery_codes_renewed", uid=user["uid"])
        return codes, letters.queue_factor_notice(app, request, tx, user, letters.recovery_codes_renewed)

    codes, mail_id = app.db.transaction(renew)
    return app.outbox.deliver_after(show_codes(app, request, codes, first=False), mail_id)


def keep_last_factor(app, request):
    """Return the way back to the security page, with a notice, if the user must keep their last factor; else None."""
    if app.may_remove_second_factor(request.session.user):
        return None
    app.db.transaction(lambda tx: app.notices.leave(tx, request.session, LAST_FACTOR), keep=[request.session])
    return app.redirect_to(request, "security")


def app_remove(app, request):
    """Remove the authenticator app and its recovery codes; signing in asks for the password only again."""
    user = request.session.user
    refused = keep_last_factor(app, request)
    if refused is not None:
        return refused

    def remove(tx):
        """Delete the key and the codes; record and mail it if there was an app (return the outbox id)."""
        tx.run("delete_recovery_codes", uid=user["uid"])
        if not tx.run("delete_totp_factor", uid=user["uid"]):
            return None
        audit.record(app, tx, request, "authenticator_removed", uid=user["uid"])
        app.notices.leave(tx, request.session, APP_REMOVED)
        return letters.queue_factor_notice(app, request, tx, user, letters.authenticator_removed)

    mail_id = app.db.transaction(remove, keep=[request.session])
    return app.outbox.deliver_after(app.redirect_to(request, "security"), *filter(None, [mail_id]))
