"""Passwords: hashing and checking with werkzeug.security, and the list of common ones nobody may choose.

NOTICE: data/common-passwords.txt.gz is Django's list (django/contrib/auth/, BSD-3-Clause,
Copyright (c) Django Software Foundation and individual contributors; created by Royce
Williams). Its licence is in data/common-passwords.LICENSE, which must travel with it.
"""

import gzip
import hashlib
import http.client
import importlib.resources
import logging
import re
import secrets
import unicodedata
import urllib.request
from typing import Optional
from urllib.parse import urlsplit

from werkzeug.security import check_password_hash, generate_password_hash

# ASVS 2.1.2 asks to accept at least 64 characters; the cap bounds the work
# one hash can be made to do.
PASSWORD_MAX = 1024

log = logging.getLogger("wsgiauth.passwords")


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
        """Say whether password matches the stored hash (constant-time compare); a damaged hash matches nothing."""
        try:
            return check_password_hash(pwhash, normalize(password))
        except ValueError:
            # An unknown method or bad parameters in the stored hash ("x$y$z",
            # as an import or a bug could leave): werkzeug raises, and a sign-in
            # must answer "Invalid e-mail or password", not a 500.
            return False

    def verify(self, user, password: str) -> bool:
        """Say whether password is the user row's, running exactly one hash (also for no such user)."""
        # The one password check of the app: sign-in and every form that asks
        # for the current password come here, behind the throttle
        # (limits.verify_password), which decides whether to call it at all.
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


# -- The common passwords (ASVS 2.1.7) ------------------------------------

def fold(password: str) -> str:
    """Return the form a password is compared in: NFKC, case-folded, without surrounding spaces."""
    # "Password", "PASSWORD " and a full-width "ｐａｓｓｗｏｒｄ" are all the same
    # guess to an attacker. Only the comparison folds: the password is hashed
    # as typed (ASVS 2.1.3), so folding here never weakens what is stored.
    return normalize(password).casefold().strip()


def load_common(path=None) -> frozenset:
    """Return the folded entries of the gzipped list (default: the one shipped in the package), one per line."""
    # All 19,640 entries: ~1.6 MiB per process (README, "Security"). Keeping
    # only those of 8+ characters would save 0.6 MiB, but "qwerty  " (two
    # spaces) is 8 characters long and folds to a 6-character entry.
    path = path or importlib.resources.files("wsgiauth") / "data" / "common-passwords.txt.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(filter(None, (fold(line.rstrip("\n")) for line in lines)))


def is_common(password: str, common: frozenset) -> bool:
    """Say whether password is on the common list (as loaded by load_common)."""
    return fold(password) in common


# -- The site's own words (ASVS 5.0 6.1.2, 6.2.11) --------------------------

# Always refused, whatever the settings: the software's own name.
PRODUCT_WORDS = ("wsgiauth",)
# Shorter words (a host's "www", "org") would refuse passwords for no reason.
CONTEXT_WORD_MIN = 4


def context_words(settings) -> tuple:
    """Return the site's words a new password must not be built on (folded, no spaces), as SECURITY.md lists them."""
    # SITE_NAME, BASE_URL's host and each of its labels but the last (the
    # "example" of accounts.example.org), "wsgiauth", and the operator's
    # PASSWORD_CONTEXT_WORDS: what an attacker tries first against this site.
    host = urlsplit(settings.BASE_URL).hostname or ""
    labels = host.split(".")[:-1] if not host.replace(".", "").isdigit() else []
    words = [settings.SITE_NAME, host, *labels, *PRODUCT_WORDS, *settings.PASSWORD_CONTEXT_WORDS.split(",")]
    folded = ("".join(fold(word).split()) for word in words)
    return tuple(sorted({word for word in folded if len(word) >= CONTEXT_WORD_MIN and word != "www"}))


# -- Breached passwords (ASVS 5.0 6.2.12) ---------------------------------

BREACHED = "This password has appeared in a data breach. Please choose another."
# Seconds to wait for the Pwned Passwords service on each network step;
# after that the password is accepted (the service must not stop sign-ups).
PWNED_TIMEOUT = 2.0
# A real range answer is ~30 KiB (with padding); more than this is not one.
PWNED_MAX_BYTES = 1024 * 1024
RANGE_LINE = re.compile(r"([0-9A-F]{35}):(\d+)")


def breached(settings, password: str) -> Optional[bool]:
    """Say whether the Pwned Passwords range API knows password; None when the check is off or failed."""
    # k-anonymity: only the first 5 hex characters of the SHA-1 leave the
    # server; the service answers every suffix it knows under that prefix
    # and the comparison happens here. The password is hashed in the form
    # it is stored in (NFKC), as a full-width "ｐａｓｓｗｏｒｄ" is "password".
    base = settings.PWNED_PASSWORDS_URL.strip().rstrip("/")
    if not base:
        return None
    digest = hashlib.sha1(normalize(password).encode("utf-8")).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    # Add-Padding: the answer is padded with random 0-count suffixes, so
    # its size does not tell an eavesdropper on TLS which prefix was asked.
    request = urllib.request.Request(f"{base}/range/{prefix}",
                                     headers={"Add-Padding": "true", "User-Agent": "wsgiauth"})
    try:
        with urllib.request.urlopen(request, timeout=PWNED_TIMEOUT) as response:
            if response.status != 200:
                raise ValueError(f"status {response.status}")
            body = response.read(PWNED_MAX_BYTES + 1)
        if len(body) > PWNED_MAX_BYTES:
            raise ValueError("answer too long")
        counts = {}
        for line in body.decode("ascii").splitlines():
            match = RANGE_LINE.fullmatch(line.strip().upper())
            if not match:
                raise ValueError("not a range answer")
            counts[match[1]] = int(match[2])
        if not counts:
            raise ValueError("empty answer")
    except (OSError, ValueError, http.client.HTTPException) as error:
        # OSError covers URLError, HTTPError and timeouts. Accepted, not
        # refused: the check is a second opinion, and an outage of someone
        # else's service must not stop people choosing passwords. Neither
        # the password nor its hash (nor the prefix) is logged.
        reason = getattr(error, "reason", None) or error
        log.warning("Pwned Passwords check failed (%s: %s); the new password was accepted without it",
                    base, str(reason).replace(prefix, "?"))
        return None
    return counts.get(suffix, 0) > 0  # padding lines have a count of 0


def refuse_breached(settings, password: str, errors: dict, field: str) -> dict:
    """Put BREACHED into errors[field] when the Pwned Passwords check finds password; return errors."""
    # The one call of every place a new password is chosen, after the
    # form's own checks (pure functions in forms.py) have passed.
    if not errors and breached(settings, password):
        errors[field] = BREACHED
    return errors
