"""Passkeys: add and remove them on the sign-in security page, and sign in with one (wsgiauth/passkeys.py checks)."""

import json

from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response

from .. import audit, client, letters, limits
from ..db import IntegrityError
from ..passkeys import (
    CONFIRM,
    COUNTER_WENT_BACK,
    NAME_MAX,
    REGISTER,
    SECOND_STEP,
    SIGNIN,
    PasskeyError,
    counter_went_back,
)
from ..redirects import safe_next
from ..sessions import hash_id
from . import security
from .signin import ACCOUNT_LOCKED, after_signin, begin_signed_in

# The sign-in history's name for this way in (views/security.py METHODS).
METHOD_PASSKEY = "passkey"


def relying_party(app):
    """Return app.passkeys, or answer 404 when passkeys are not offered (no fido2, or no WSGIAUTH_BASE_URL)."""
    if app.passkeys is None:
        raise NotFound()
    return app.passkeys


def json_response(data, status=200):
    """Return data as a JSON response (the options a page's script hands to the browser's WebAuthn API)."""
    return Response(json.dumps(data), status=status, content_type="application/json")


def passkey_name(request) -> str:
    """Return the name typed for a new passkey, or one made from the browser's name; BadRequest if too long."""
    name = " ".join(request.form.get("name", "").split())  # no line breaks or runs of spaces
    if len(name) > NAME_MAX:
        raise BadRequest(f"A passkey's name can be at most {NAME_MAX} characters long.")
    return name or client.describe_agent(client.agent(request))[:NAME_MAX]


def add_options(app, request):
    """Answer the options for adding a passkey to the signed-in account (JSON)."""
    rp = relying_party(app)
    # Only with access confirmed in the last minutes (routes.CONFIRMED; ASVS 5.0 7.5.1).
    user = request.session.user

    def begin(tx):
        """Store the challenge and return the options."""
        existing = tx.all("passkeys_of_user", uid=user["uid"])
        return rp.register_options(tx, request, user, existing)

    return json_response(app.db.transaction(begin))


def add(app, request):
    """Check the new passkey's answer and store it; mail the account's owner."""
    rp = relying_party(app)
    user = request.session.user
    name = passkey_name(request)
    try:
        state = rp.take_challenge(app.db, request, REGISTER, uid=user["uid"])
        fields = rp.verify_registration(state, request.form.get("credential", ""))
    except PasskeyError as error:
        raise BadRequest(str(error)) from error
    now = app.now()

    def store(tx):
        """Insert the passkey, audit it, mail the owner; return the outbox id."""
        tx.insert("insert_passkey", uid=user["uid"], name=name, created_at=now, **fields)
        audit.record(app, tx, request, "passkey_added", uid=user["uid"])
        app.notices.leave(tx, request.session, f"Your passkey \u201c{name}\u201d has been added.")
        return letters.queue_passkey_notice(app, request, tx, user, name, added=True)

    try:
        mail_id = app.db.transaction(store, keep=[request.session])
    except IntegrityError as error:  # the same passkey added twice, in a race
        raise BadRequest("This passkey has already been added.") from error
    return app.outbox.deliver_after(app.redirect_to(request, "security"), mail_id)


def remove(app, request):
    """Remove one of the signed-in user's passkeys (form field "passkey": its id); mail the account's owner."""
    relying_party(app)
    passkey_id = request.form.get("passkey", "")
    if not passkey_id.isdigit() or len(passkey_id) > 10:
        raise NotFound()
    user = request.session.user
    refused = security.keep_last_factor(app, request)
    if refused is not None:
        return refused

    def delete(tx):
        """Delete the passkey if it is this user's, audit it, mail the owner; return the outbox id or None."""
        # Only the user's own: another account's id is a 404 (ASVS 5.0 8.2.2).
        row = tx.one("passkey_of_user", id=passkey_id, uid=user["uid"])
        if row is None or tx.run("delete_passkey", id=passkey_id, uid=user["uid"]) != 1:
            return None
        audit.record(app, tx, request, "passkey_removed", uid=user["uid"])
        app.notices.leave(tx, request.session, f"Your passkey \u201c{row['name']}\u201d has been removed.")
        return letters.queue_passkey_notice(app, request, tx, user, row["name"], added=False)

    mail_id = app.db.transaction(delete, keep=[request.session])
    if mail_id is None:
        raise NotFound()
    return app.outbox.deliver_after(app.redirect_to(request, "security"), mail_id)


def signin_options(app, request):
    """Answer the options for signing in with a passkey (JSON), for the button and for autofill."""
    rp = relying_party(app)
    limits.check(app, request, limits.PASSKEY_OPTIONS_PER_IP)
    return json_response(app.db.transaction(lambda tx: rp.signin_options(tx, request)))


def signin_code_options(app, request):
    """Answer the options for the second sign-in step with a passkey of the half sign-in's account (JSON)."""
    rp = relying_party(app)
    # Only for a browser whose password was right a moment ago (views/signin.py ask_for_code).
    pending = app.db.one("pending_signin", id_hash=hash_id(request.session.sid), now=app.now())
    if pending is None:
        raise BadRequest("Your sign-in took more than 5 minutes. Please sign in again.")
    return account_options(app, request, rp, SECOND_STEP, pending["uid"])


def confirm_access_options(app, request):
    """Answer the options for confirming access with a passkey of the signed-in user (JSON)."""
    return account_options(app, request, relying_party(app), CONFIRM, request.session.user["uid"])


def account_options(app, request, rp, purpose, uid):
    """Store a challenge for uid's passkeys and answer the options; 400 if the account has none."""
    def begin(tx):
        """Return the options, or None when there is no passkey to ask for."""
        passkeys = tx.all("passkeys_of_user", uid=uid)
        return rp.account_options(tx, request, purpose, uid, passkeys) if passkeys else None

    options = app.db.transaction(begin)
    if options is None:
        raise BadRequest("This account has no passkeys.")
    return json_response(options)


def signin(app, request):
    """Check a passkey's answer and start a session for its account."""
    rp = relying_party(app)
    next_target = safe_next(request, request.form.get("next"), app.forward_auth_origins)
    if request.session.user:
        return after_signin(app, request, next_target)
    # The same per-IP limit as the password form (ASVS 5.0 6.3.1).
    limits.check(app, request, limits.SIGNIN_PER_IP)
    try:
        state = rp.take_challenge(app.db, request, SIGNIN)
        passkey, count = rp.verify_signin(app.db, state, request.form.get("credential", ""))
    except PasskeyError as error:
        return refused(app, request, str(error), next_target)
    if passkey["locked_at"]:
        # The passkey is the account's own: only its owner learns of the lock.
        app.db.transaction(lambda tx: audit.record(app, tx, request, "signin_locked", uid=passkey["uid"],
                                                   detail="passkey"))
        return refused(app, request, ACCOUNT_LOCKED, next_target, status=403)
    if counter_went_back(passkey["sign_count"], count):
        # A copy of the passkey may be in use: refused, and kept in the
        # audit trail for whoever investigates (ASVS 5.0 6.5.x, 16.3.1).
        app.db.transaction(lambda tx: audit.record(app, tx, request, "passkey_counter_error",
                                                   uid=passkey["uid"], detail=f"{passkey['sign_count']}>={count}"))
        return refused(app, request, COUNTER_WENT_BACK, next_target)

    def record_use(tx):
        """Store the new counter, only if it is still the one checked (else a racing sign-in used this answer)."""
        if tx.run("passkey_used", id=passkey["id"], new_count=count, old_count=passkey["sign_count"],
                  now=app.now()) != 1:
            raise PasskeyError(COUNTER_WENT_BACK)  # rolls the whole sign-in back

    # A passkey with user verification is two factors on its own (ASVS 5.0
    # 6.3.3): no second step. A new session id as at every sign-in (ASVS
    # 3.2.1), the audit row and the new-browser mail, in one transaction.
    try:
        mail_ids = begin_signed_in(app, request, passkey["uid"], passkey["email"],
                                   request.form.get("remember") == "1", METHOD_PASSKEY, work=record_use)
    except PasskeyError as error:
        return refused(app, request, str(error), next_target)
    return app.outbox.deliver_after(after_signin(app, request, next_target), *mail_ids)


def refused(app, request, message, next_target, status=400):
    """Show the sign-in page again with why the passkey was refused (400, or 403 for a locked account)."""
    return app.render(request, "signin.html", status=status, form={"email": ""}, errors={}, failed=message,
                      unconfirmed=False, remember=False, next=next_target, passkeys=True)
