"""The one-time code algorithms against the RFCs' own test vectors."""

import hashlib
import subprocess
import sys

import pytest

from wsgiauth import totp

RFC4226_KEY = b"12345678901234567890"
# RFC 4226 Appendix D: HOTP values for counters 0..9.
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
# RFC 6238 Appendix B: 8-digit TOTP values for SHA-1, SHA-256 and SHA-512 (each with its own seed).
RFC6238_SEEDS = {hashlib.sha1: b"12345678901234567890", hashlib.sha256: b"12345678901234567890123456789012",
                 hashlib.sha512: b"1234567890123456789012345678901234567890123456789012345678901234"}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("counter, code", list(enumerate(RFC4226_CODES)))
def test_hotp_matches_rfc_4226(counter, code):
    assert totp.hotp(RFC4226_KEY, counter) == code


@pytest.mark.parametrize("t, sha1, sha256, sha512", RFC6238)
def test_totp_matches_rfc_6238(t, sha1, sha256, sha512):
    for digest, code in ((hashlib.sha1, sha1), (hashlib.sha256, sha256), (hashlib.sha512, sha512)):
        assert totp.totp(RFC6238_SEEDS[digest], t, digits=8, digest=digest) == code


def test_by_default_only_the_current_steps_code_is_accepted():
    """ASVS 5.0 6.5.5: a TOTP lives at most 30 s."""
    key, now = totp.new_key(), 1_700_000_000
    step = totp.step_at(now)
    assert totp.matching_step(key, totp.hotp(key, step), now) == step
    # From the first to the last second of its step, and not a second longer.
    assert totp.matching_step(key, totp.hotp(key, step), step * totp.STEP) == step
    assert totp.matching_step(key, totp.hotp(key, step), step * totp.STEP + totp.STEP - 1) == step
    for offset in (-2, -1, 1, 2):
        assert totp.matching_step(key, totp.hotp(key, step + offset), now) is None


def test_with_one_step_of_drift_chosen_one_step_either_way_and_no_more():
    key, now = totp.new_key(), 1_700_000_000
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(key, totp.hotp(key, step + offset), now, drift=1) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(key, totp.hotp(key, step + offset), now, drift=1) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 345"])
def test_anything_but_six_ascii_digits_matches_nothing(typed):
    assert totp.matching_step(totp.new_key(), typed or "", 1_700_000_000) is None


def test_the_key_round_trips_through_base32_and_the_uri_names_issuer_and_account():
    key = totp.new_key()
    text = totp.encode_key(key)
    assert totp.decode_key(text) == key and "=" not in text and len(text) == 32
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
    uri = totp.otpauth_uri("Example Site", "ada@example.com", key)
    assert uri.startswith("otpauth://totp/Example%20Site:ada@example.com?secret=" + text)
    assert "issuer=Example+Site" in uri and "digits=6" in uri and "period=30" in uri


WITHOUT_SEGNO = """
import sys
sys.modules["segno"] = None  # `import segno` now raises ImportError, as if it were not installed
from wsgiauth import qrcodes
print(qrcodes.AVAILABLE, qrcodes.svg("otpauth://totp/x", title="x"))
"""


def test_without_segno_no_qr_code_is_drawn():
    done = subprocess.run([sys.executable, "-c", WITHOUT_SEGNO], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "False None"), done.stderr
