"""Signed, timed tokens for the links in account emails, each bound to the state it changes."""

import hashlib
import hmac
from typing import NamedTuple

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

# What can be wrong with a link, for the page that explains it.
EXPIRED = "expired"  # signed by us, but older than its purpose allows
INVALID = "invalid"  # not signed by us for this purpose: cut short or tampered with
USED = "used"  # genuine and in time, but what it was for has happened or changed
TAKEN = "taken"  # an email change whose new address another account has taken since


class Purpose(NamedTuple):
    """One kind of link: its own salt, its lifetime, and the users column it is bound to."""

    salt: str
    max_age: int
    bound_to: str


# Each purpose has its own salt, so a token made for one is refused by every
# other: a confirmation link can never reset a password (itsdangerous docs,
# "The Salt"). Binding to a column makes a token single-use without storing
# it: once that column changes, the fingerprint no longer matches.
CONFIRM_EMAIL = Purpose("wsgiauth.confirm-email", 48 * 3600, "email")
# Bound to the current password hash (as Django's PasswordResetTokenGenerator
# is): the link dies when it is used, and when the password changes any other way.
RESET_PASSWORD = Purpose("wsgiauth.reset-password", 3600, "pwdhash")
# Bound to the requested new address: a newer request replaces the older link.
CHANGE_EMAIL = Purpose("wsgiauth.change-email", 48 * 3600, "pending_email")


def fingerprint(value: str) -> str:
    """Return a short SHA-256 fingerprint of a column value, to bind a token to it."""
    # The token's payload is signed, not encrypted, and it travels in a URL:
    # it carries this fingerprint rather than the address or hash itself.
    # 128 bits: no other value will ever share it.
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


class ClockTimestampSigner(TimestampSigner):
    """itsdangerous's TimestampSigner reading the app's clock, so tests can age a token."""

    def __init__(self, *args, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        """Return the app's clock's time in whole seconds."""
        return self.now()


def timed_serializer(keys, salt, now) -> URLSafeTimedSerializer:
    """Return an itsdangerous serializer for salt whose timestamps follow the app's clock `now`."""
    # keys is settings.signing_keys: itsdangerous signs with the last one
    # (SECRET_KEY) and accepts any (SECRET_KEY_FALLBACKS), as for the cookies.
    return URLSafeTimedSerializer(keys, salt=salt, signer=ClockTimestampSigner,
                                  signer_kwargs={"now": now, "digest_method": hashlib.sha256})


class Tokens:
    """Make and check the tokens of every Purpose with the app's signing keys."""

    def __init__(self, keys, now):
        self.keys = keys
        self.now = now

    def make(self, purpose: Purpose, user) -> str:
        """Return a URL-safe token for purpose, for the user row given."""
        return timed_serializer(self.keys, purpose.salt, self.now).dumps(
            [user["uid"], fingerprint(user[purpose.bound_to] or "")])

    def check(self, tx, purpose: Purpose, token: str):
        """Return (user row, None) if token is good now, else (None or the row, EXPIRED/INVALID/USED)."""
        try:
            uid, bound = timed_serializer(self.keys, purpose.salt, self.now).loads(
                token, max_age=purpose.max_age)
        except SignatureExpired:
            return None, EXPIRED
        except (BadData, TypeError, ValueError):  # bad signature or not our [uid, fingerprint] shape
            return None, INVALID
        user = tx.one("account_by_uid", uid=uid)
        # A deleted user, or a column that changed since the link was sent:
        # the link has done its work (or been overtaken) and is refused.
        current = user and user[purpose.bound_to]
        if not current or not hmac.compare_digest(bound, fingerprint(current)):
            return user, USED
        return user, None
