"""Password hashing with werkzeug.security, the one place a password is ever touched."""

import secrets
import unicodedata

from werkzeug.security import check_password_hash, generate_password_hash

# ASVS 2.1.2 asks to accept at least 64 characters; the cap bounds the work
# one hash can be made to do.
PASSWORD_MAX = 1024


def normalize(password: str) -> str:
    """Return the NFKC form, so the same password typed on any keyboard matches."""
    # OWASP Authentication Cheat Sheet / ASVS 2.1.4: any Unicode is allowed,
    # and visually identical input (e.g. a full-width digit) hashes the same.
    return unicodedata.normalize("NFKC", password)


class Passwords:
    """Hash and check passwords with the configured werkzeug.security method."""

    def __init__(self, method: str):
        self.method = method
        # Hashing once now proves the method string works (a typo fails at
        # start-up, not at the first sign-up) and gives the dummy hash below.
        self._dummy_hash = self.hash(secrets.token_urlsafe(16))
        # What werkzeug writes before the first "$", with defaults filled in
        # ("scrypt" becomes "scrypt:32768:8:1"): the parameters of new hashes.
        self._prefix = self._dummy_hash.split("$", 1)[0] + "$"

    def hash(self, password: str) -> str:
        """Return a salted hash of password to store."""
        return generate_password_hash(normalize(password), method=self.method)

    def check(self, pwhash: str, password: str) -> bool:
        """Say whether password matches the stored hash (constant-time compare)."""
        return check_password_hash(pwhash, normalize(password))

    def verify(self, user, password: str) -> bool:
        """Say whether password is the user row's, running exactly one hash (also for no such user)."""
        # The one password check of the app: sign-in and every form that asks
        # for the current password come here, behind the throttle
        # (throttle.verify_password), which decides whether to call it at all.
        if len(password) > PASSWORD_MAX:
            return False  # longer than any password we accept: no need to hash
        if user is None:
            # Django's contrib.auth does the same: without a dummy hash, "no
            # such user" answers in microseconds and "wrong password" in
            # ~100 ms, and the difference tells which emails have accounts
            # (ASVS 2.2.1).
            self.check(self._dummy_hash, password)
            return False
        return self.check(user["pwdhash"], password)

    def needs_rehash(self, pwhash: str) -> bool:
        """Say whether a stored hash was made with other parameters than the configured ones."""
        return not pwhash.startswith(self._prefix)
