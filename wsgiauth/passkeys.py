"""Passkeys (WebAuthn) through the optional fido2 package: the relying party, its challenges, and checking answers.

fido2 is an extra (`pip install 'wsgiauth[passkeys]'`): without it AVAILABLE is False,
app.passkeys is None, and no page offers passkeys. This is the one place that checks.

How a ceremony goes, for learners:
1. The browser asks for options (a POST with the CSRF token). The server makes a random
   challenge, stores it against this browser's session id, and sends the options.
2. The browser hands them to navigator.credentials.create() (add a passkey) or .get()
   (sign in); the authenticator signs the challenge, the origin and the RP ID hash with the
   passkey's private key, which never leaves it.
3. The browser posts the answer. The server takes (deletes) the challenge, then fido2
   checks the origin, RP ID hash, challenge, flags and signature against the stored public key.
"""

import hashlib
import ipaddress
import json
import secrets
from urllib.parse import urlsplit

try:
    from fido2.server import Fido2Server
    from fido2.utils import websafe_decode, websafe_encode
    from fido2.webauthn import (
        AttestedCredentialData,
        AuthenticationResponse,
        PublicKeyCredentialParameters,
        PublicKeyCredentialRpEntity,
        PublicKeyCredentialType,
        PublicKeyCredentialUserEntity,
        RegistrationResponse,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )
except ImportError:  # the extra is not installed: passkeys are simply not offered
    AVAILABLE = False
else:
    AVAILABLE = True

from . import audit, limits, sessions

# A challenge lives 5 minutes: long enough to find a security key, short
# enough that one copied from a page is soon worthless (ASVS 5.0 6.5.x:
# one-time values are used once and expire).
CHALLENGE_SECONDS = 5 * 60
# The longest name a person may give a passkey (the column's size).
NAME_MAX = 60
REGISTER, SIGNIN = "register", "signin"
# A passkey for one account already known: the second sign-in step after the
# password, and the Confirm access page (issue 15).
SECOND_STEP, CONFIRM = "second_step", "confirm"
NOT_OFFERED = "Passkeys are not offered on this site."
# Shown when a sign counter went backwards: a copy of the passkey may be in use.
COUNTER_WENT_BACK = "This passkey was refused. Please sign in with your password."


# ASVS 5.0 11.6.1, 11.2.3: the signature algorithms a new passkey may use,
# in order of preference: ES256 (P-256) and EdDSA (Ed25519), about 128 bits
# of security, and RS256, without which Windows Hello (RSA-2048, about 112
# bits) could not add one. fido2 would offer, and accept, whatever it can
# check (ES384, PS256, ES256K, ML-DSA, ...); only these are offered here, and
# an answer with any other is refused (check_new_key).
OFFERED_ALGORITHMS = (-7, -8, -257)  # their COSE ids (RFC 9053, RFC 8812)
# NIST SP 800-131A: RSA keys under 2048 bits are disallowed for signatures.
MIN_RSA_BITS = 2048
# RFC 9052/8230: the labels of a COSE key's type and algorithm, RSA's key type, and its modulus.
COSE_KTY, COSE_ALG, COSE_KTY_RSA, COSE_RSA_N = 1, 3, 3, -1
OTHER_ALGORITHM = ("This passkey could not be added: it signs with an algorithm this site does not accept. "
                   "Please try another authenticator.")
WEAK_RSA_KEY = (f"This passkey could not be added: its RSA key is shorter than {MIN_RSA_BITS} bits, which is "
                f"too weak. Please try another authenticator.")


class PasskeyError(Exception):
    """An answer that cannot be accepted (a wrong, expired or reused challenge, an unknown passkey): text for people."""


def credential_hash(credential_id: bytes) -> str:
    """Return the SHA-256 hex digest of a credential id, the form the passkeys table is searched by."""
    return hashlib.sha256(credential_id).hexdigest()


def check_new_key(public_key) -> None:
    """Refuse (PasskeyError) a new passkey's key (a fido2 CoseKey) of an algorithm not offered, or a short RSA key."""
    # fido2's register_complete checks the answer's signature and flags, not
    # which algorithm the key uses or how long it is.
    if public_key.get(COSE_ALG) not in OFFERED_ALGORITHMS:
        raise PasskeyError(OTHER_ALGORITHM)
    if public_key.get(COSE_KTY) == COSE_KTY_RSA and \
            int.from_bytes(public_key.get(COSE_RSA_N, b""), "big").bit_length() < MIN_RSA_BITS:
        raise PasskeyError(WEAK_RSA_KEY)


def parse_answer(raw: str, parse):
    """Return the browser's JSON answer read by fido2's `parse` (RegistrationResponse.from_dict ...)."""
    # Anything a client sends may be broken: a clear 400, never a 500.
    try:
        answer = parse(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise PasskeyError("The browser's answer could not be read. Please try again.") from error
    if answer is None:  # fido2 reads JSON null as "no answer" (found by the fuzz test)
        raise PasskeyError("The browser's answer could not be read. Please try again.")
    return answer


class RelyingParty:
    """This site as WebAuthn sees it: RP ID and origin from WSGIAUTH_BASE_URL, and its challenges under way."""

    def __init__(self, settings, site_name: str):
        base = urlsplit(settings.BASE_URL)
        # Never from the Host header, which the client chooses (ASVS 5.0
        # 6.5.x / WebAuthn §13.4.9): a passkey is bound to this RP ID, and an
        # answer is accepted only from this exact origin.
        self.id = base.hostname
        self.origin = f"{base.scheme}://{base.netloc}"
        self.now = settings.now
        self.server = Fido2Server(PublicKeyCredentialRpEntity(name=site_name, id=self.id),
                                  verify_origin=lambda origin: origin == self.origin)
        # pubKeyCredParams of every creation: what check_new_key accepts.
        self.server.allowed_algorithms = [
            PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
            for alg in OFFERED_ALGORITHMS]

    # -- challenges: server side, one per browser session and purpose, used once

    def _store(self, tx, request, purpose: str, state: dict, uid=None, user_handle=None) -> None:
        """Keep state's challenge for this browser's session, replacing any earlier one of the same purpose."""
        session_hash = sessions.hash_id(request.session.sid)
        tx.run("delete_passkey_challenge", session_hash=session_hash, purpose=purpose)
        tx.run("insert_passkey_challenge", session_hash=session_hash, purpose=purpose,
               challenge=state["challenge"], uid=uid, user_handle=user_handle,
               expires_at=self.now() + CHALLENGE_SECONDS)

    def take_challenge(self, db, request, purpose: str, uid=None) -> dict:
        """Delete this session's challenge of purpose and return fido2's state for it; PasskeyError if none is live."""
        session_hash = sessions.hash_id(request.session.sid)

        def take(tx):
            """Read and delete the row; only the request whose DELETE removed it may use it."""
            row = tx.one("passkey_challenge", session_hash=session_hash, purpose=purpose)
            gone = tx.run("delete_passkey_challenge", session_hash=session_hash, purpose=purpose)
            return row if gone == 1 else None

        # Committed before the answer is checked: a wrong answer uses the
        # challenge up too, and two requests racing with one answer cannot
        # both take it (the second DELETE finds no row).
        row = db.transaction(take)
        if row is None or row["uid"] != uid:
            raise PasskeyError("This passkey request is unknown or was already used. Please try again.")
        if row["expires_at"] <= self.now():
            raise PasskeyError("This passkey request has expired. Please try again.")
        # Passkeys here always ask for user verification (a PIN or a
        # fingerprint): a passkey then stands for two factors on its own.
        return {"challenge": row["challenge"], "user_verification": UserVerificationRequirement.REQUIRED,
                "user_handle": row["user_handle"]}

    # -- adding a passkey ------------------------------------------------

    def register_options(self, tx, request, user: dict, existing: list) -> dict:
        """Start adding a passkey for user inside tx; return the options for navigator.credentials.create()."""
        # The user handle is random, the same for all of one user's passkeys
        # (so a new one replaces an old one on the same authenticator), and
        # never the email or uid: authenticators may show or leak it.
        handle = existing[0]["user_handle"] if existing else websafe_encode(secrets.token_bytes(32))
        options, state = self.server.register_begin(
            PublicKeyCredentialUserEntity(name=user["email"], id=websafe_decode(handle),
                                          display_name=f"{user['firstname']} {user['lastname']}"),
            # Passkeys already added cannot be added twice on one authenticator.
            credentials=[AttestedCredentialData(websafe_decode(row["credential_data"])) for row in existing],
            # A discoverable credential: sign-in needs no email typed first.
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED)
        self._store(tx, request, REGISTER, state, uid=user["uid"], user_handle=handle)
        return {"options": dict(options)["publicKey"]}

    def verify_registration(self, state: dict, raw_answer: str) -> dict:
        """Check the answer of navigator.credentials.create(); return the columns of the new passkey."""
        answer = parse_answer(raw_answer, RegistrationResponse.from_dict)
        try:
            auth_data = self.server.register_complete(state, answer)
        except ValueError as error:
            raise PasskeyError("The passkey could not be added: the browser's answer was not valid.") from error
        credential = auth_data.credential_data
        check_new_key(credential.public_key)
        return {"credential_hash": credential_hash(credential.credential_id), "user_handle": state["user_handle"],
                "credential_data": websafe_encode(bytes(credential)), "sign_count": auth_data.counter}

    # -- signing in ------------------------------------------------------

    def signin_options(self, tx, request) -> dict:
        """Start a passkey sign-in inside tx; return the options for navigator.credentials.get()."""
        # No allowCredentials: the browser offers the passkeys it holds for
        # this RP ID (discoverable credentials), so nobody has to type an
        # email and nothing tells a stranger which accounts exist.
        options, state = self.server.authenticate_begin(user_verification=UserVerificationRequirement.REQUIRED)
        self._store(tx, request, SIGNIN, state)
        return {"options": dict(options)["publicKey"]}

    def account_options(self, tx, request, purpose: str, uid: int, passkeys: list) -> dict:
        """Start a passkey check for one known account inside tx; return the options for navigator.credentials.get()."""
        # allowCredentials names this account's passkeys only, and the
        # challenge is stored with its uid: take_challenge hands it to no
        # other account (ASVS 5.0 6.5.x, 6.3.3).
        options, state = self.server.authenticate_begin(
            credentials=[AttestedCredentialData(websafe_decode(row["credential_data"])) for row in passkeys],
            user_verification=UserVerificationRequirement.REQUIRED)
        self._store(tx, request, purpose, state, uid=uid)
        return {"options": dict(options)["publicKey"]}

    def verify_signin(self, db, state: dict, raw_answer: str, uid=None) -> tuple:
        """Check the answer of navigator.credentials.get() (of uid's passkey if given); return (passkey, counter)."""
        answer = parse_answer(raw_answer, AuthenticationResponse.from_dict)
        row = db.one("passkey_by_credential", credential_hash=credential_hash(answer.raw_id))
        if row is None:
            # Removed, or never added here (ASVS 5.0 6.5.x).
            raise PasskeyError("This passkey is not known here: it may have been removed. "
                               "Please sign in with your password.")
        if uid is not None and row["uid"] != uid:
            # A passkey proves only its own account (ASVS 5.0 6.3.3).
            raise PasskeyError("This passkey belongs to another account. Please use one of your own passkeys.")
        user_handle = answer.response.user_handle
        if user_handle is not None and websafe_encode(user_handle) != row["user_handle"]:
            raise PasskeyError("This passkey does not belong to the account it names.")
        credential = AttestedCredentialData(websafe_decode(row["credential_data"]))
        try:
            self.server.authenticate_complete(state, [credential], answer)
        except ValueError as error:
            raise PasskeyError("The passkey could not be checked. Please try again.") from error
        return row, answer.response.authenticator_data.counter


def counter_went_back(stored: int, new: int) -> bool:
    """Say whether a sign counter shows a cloned authenticator: it must grow, unless it is always 0."""
    # WebAuthn §6.1.1: authenticators that keep no counter send 0 every time;
    # any other value must be larger than the last one seen, else the
    # passkey may have been copied (ASVS 5.0 6.5.x; the event is audited).
    return (stored or new) != 0 and new <= stored


def check_account_answer(app, request, purpose: str, uid: int) -> dict:
    """Check the posted answer to uid's challenge of purpose and store its counter; return the passkey row."""
    rp = app.passkeys
    if rp is None:
        raise PasskeyError(NOT_OFFERED)
    state = rp.take_challenge(app.db, request, purpose, uid=uid)
    passkey, count = rp.verify_signin(app.db, state, request.form.get("credential", ""), uid=uid)
    if counter_went_back(passkey["sign_count"], count):
        # A copy of the passkey may be in use: refused, and kept in the
        # audit trail for whoever investigates (ASVS 5.0 6.5.x, 16.3.1).
        app.db.transaction(lambda tx: audit.record(app, tx, request, "passkey_counter_error",
                                                   uid=passkey["uid"], detail=f"{passkey['sign_count']}>={count}"))
        raise PasskeyError(COUNTER_WENT_BACK)
    # Only if the counter is still the one checked: else a racing request used this answer.
    if app.db.transaction(lambda tx: tx.run("passkey_used", id=passkey["id"], new_count=count,
                                            old_count=passkey["sign_count"], now=app.now())) != 1:
        raise PasskeyError(COUNTER_WENT_BACK)
    return passkey


def account_proof(app, request, purpose: str, user: dict, event: str) -> tuple:
    """Check the posted passkey answer for user under the account's backoff; return (passkey or None, wait, why not)."""
    # Counted with wrong passwords and codes (ASVS 5.0 6.3.1): a wrong or
    # foreign answer is one more failure for this account.
    refusals = []

    def check():
        """Return the passkey, or None with the reason kept for the page."""
        try:
            return check_account_answer(app, request, purpose, user["uid"])
        except PasskeyError as error:
            refusals.append(str(error))
            return None

    passkey, wait = limits.verify(app, request, user, user["email"], check, event=event)
    return passkey, wait, refusals[0] if refusals else None


def relying_party(settings, site_name: str):
    """Return the RelyingParty, or None when passkeys cannot be offered (no fido2, no BASE_URL, or an IP address)."""
    if not AVAILABLE or not settings.BASE_URL:
        return None
    try:
        ipaddress.ip_address(urlsplit(settings.BASE_URL).hostname or "")
    except ValueError:
        return RelyingParty(settings, site_name)
    # Browsers refuse an IP address as an RP ID ("invalid domain"): a site
    # reached as http://127.0.0.1 offers no passkeys (http://localhost does).
    return None
