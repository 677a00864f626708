"""Signing cookies and CSRF tokens: itsdangerous' Signer, without work it repeats on every call."""

import hashlib
import hmac

from itsdangerous import Signer
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm


class HMACSHA256(HMACAlgorithm):
    """HMAC-SHA256 through hmac.digest(), the one-shot C function: the same bytes as hmac.new()."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        """Return the HMAC-SHA256 of value under key."""
        return hmac.digest(key, value, "sha256")


class FastSigner(Signer):
    """itsdangerous' Signer with HMAC-SHA256 that derives each key once, not on every call."""

    # Nearly every request signs or checks a cookie or a CSRF token: itsdangerous
    # would hash salt + key again each time, for the same answer.
    def __init__(self, secret_keys, salt):
        super().__init__(secret_keys, salt=salt, digest_method=hashlib.sha256, algorithm=HMACSHA256())
        self._derived = {}  # secret key -> derived key; one entry per configured key

    def derive_key(self, secret_key=None) -> bytes:
        """Return the key derived from secret_key (default: SECRET_KEY), computed once per key."""
        secret_key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(secret_key)
        if derived is None:
            derived = self._derived[secret_key] = super().derive_key(secret_key)
        return derived
