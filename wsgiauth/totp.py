"""One-time codes of authenticator apps: HOTP (RFC 4226) and TOTP (RFC 6238), in plain standard library."""

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

DIGITS = 6  # what every authenticator app shows
STEP = 30  # seconds per code (RFC 6238's default, and the apps')
# Steps accepted either side of now. ASVS 5.0 6.5.5: a TOTP lives at most
# 30 s, so by default only the current step's code is taken; an operator may
# choose RFC 6238's tolerance of one step (WSGIAUTH_TOTP_DRIFT=1: a phone's
# clock off by up to 30 s, a code accepted for up to 90 s), and no more.
DRIFT_CHOICES = (0, 1)
KEY_BYTES = 20  # 160 bits, the size RFC 4226 recommends (and SHA-1's output)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """Return the HOTP code for counter (RFC 4226 section 5.3)."""
    # 1. HMAC of the counter as an 8-byte big-endian number.
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    # 2. "Dynamic truncation": the low 4 bits of the last byte pick where 4
    #    bytes are read; the top bit is dropped so the number is positive.
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    # 3. The last `digits` decimal digits, zero-padded.
    return str(number % 10 ** digits).zfill(digits)


def step_at(t: float) -> int:
    """Return the TOTP time step of Unix time t (RFC 6238: T = floor(t / 30))."""
    return int(t // STEP)


def totp(key: bytes, t: float, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """Return the TOTP code at Unix time t: HOTP with the time step as the counter."""
    return hotp(key, step_at(t), digits, digest)


def matching_step(key: bytes, code: str, now: int, drift: int = 0):
    """Return the time step whose code is `code`, within drift steps of now, or None."""
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = step_at(now)
    for step in range(current - drift, current + drift + 1):
        # compare_digest: the time a comparison takes says nothing about how
        # many leading digits were right.
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def new_key() -> bytes:
    """Return a new random key for an authenticator app."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """Return key as the base32 text apps take (no padding), e.g. JBSWY3DPEHPK3PXP."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def decode_key(text: str) -> bytes:
    """Return the key written by encode_key."""
    return base64.b32decode(text + "=" * (-len(text) % 8))


def grouped(text: str) -> str:
    """Return a base32 key in groups of 4 characters, for typing it in by hand."""
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def otpauth_uri(issuer: str, account: str, key: bytes) -> str:
    """Return the otpauth:// URI that apps read from a QR code or a link (Google Authenticator's key URI format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": encode_key(key), "issuer": issuer, "algorithm": "SHA1",
                       "digits": DIGITS, "period": STEP})
    return f"otpauth://totp/{label}?{query}"
