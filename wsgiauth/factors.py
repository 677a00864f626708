"""Second factors of an account: its authenticator app (TOTP) and recovery codes, set up and checked."""

import hashlib
import secrets

from . import totp

RECOVERY_CODES = 10  # how many a set has
# Crockford's base32: digits and capitals without I, L, O and U, so a code
# read aloud or copied by hand has no 1/I/L or 0/O to confuse.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_LENGTH = 12  # 12 x 5 bits = 60 bits per code (the issue asks for at least 50)
# Letters people type for the ones the alphabet leaves out.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# How long the browser has, after the right password, to type the code.
PENDING_SECONDS = 5 * 60


def new_recovery_codes() -> list:
    """Return RECOVERY_CODES fresh codes, each written as XXXX-XXXX-XXXX."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def normalized(typed: str) -> str:
    """Return a typed recovery code as stored: capitals, no spaces or dashes, look-alike letters mapped."""
    return "".join(typed.split()).replace("-", "").upper().translate(_LOOKALIKES)


def code_hash(code: str, salt: str) -> str:
    """Return the salted scrypt hash of a normalized recovery code, the only form stored."""
    # ASVS 5.0 6.5.2: a lookup secret of under 112 bits of entropy (these have
    # 60) is stored with a salt and a slow hash, so a stolen table cannot be
    # searched for all 2^60 codes. One set shares a salt, so checking a typed
    # code costs one hash, not one per code (and it is rate-limited). N=2^12
    # (4 MiB, ~10 ms): against 2^60 candidates even this is centuries of work,
    # and a new set costs 10 hashes, not 10 password hashes' worth of time.
    return hashlib.scrypt(normalized(code).encode("ascii", "replace"), salt=salt.encode("ascii"),
                          n=2 ** 12, r=8, p=1, dklen=32).hex()


def app_factor(db, uid):
    """Return the account's confirmed authenticator app row, or None."""
    row = db.one("totp_factor", uid=uid)
    return row if row and row["confirmed_at"] else None


def begin_setup(tx, uid: int, now: int) -> bytes:
    """Give the account a new, unconfirmed authenticator key (replacing one not yet confirmed); return it."""
    key = totp.new_key()
    tx.run("delete_totp_factor", uid=uid)
    tx.run("insert_totp_factor", uid=uid, secret=totp.encode_key(key), now=now)
    return key


def finish_setup(tx, uid: int, secret: str, code: str, now: int, drift: int) -> bool:
    """Confirm the key being set up if code is its current one (within drift steps); say whether it was."""
    step = totp.matching_step(totp.decode_key(secret), code, now, drift)
    return step is not None and tx.run("confirm_totp_factor", uid=uid, secret=secret, step=step, now=now) == 1


def new_recovery_set() -> tuple:
    """Return a new set of recovery codes, its salt and their hashes (made before a transaction: 10 slow hashes)."""
    codes, salt = new_recovery_codes(), secrets.token_hex(16)
    return codes, salt, [code_hash(code, salt) for code in codes]


def store_recovery_codes(tx, uid: int, recovery_set: tuple, now: int) -> list:
    """Replace the account's recovery codes with recovery_set; return the codes (shown once, never stored)."""
    codes, salt, hashes = recovery_set
    tx.run("delete_recovery_codes", uid=uid)
    for hashed in hashes:
        tx.run("insert_recovery_code", uid=uid, salt=salt, code_hash=hashed, now=now)
    # The count the Security page reads with its session lookup (migration 0014).
    tx.run("set_recovery_codes_left", uid=uid, n=len(hashes))
    return codes


def check(tx, uid: int, typed: str, now: int, drift: int):
    """Use up typed if it is a current app code (within drift steps) or an unused recovery code.

    Return "app", "recovery code" or None.
    """
    typed = "".join(typed.split())
    factor = tx.one("totp_factor", uid=uid)
    if not factor or not factor["confirmed_at"]:
        return None
    if len(typed) == totp.DIGITS:
        # ASVS 5.0 6.5.5: drift is WSGIAUTH_TOTP_DRIFT, 0 by default (a code
        # lives 30 s).
        step = totp.matching_step(totp.decode_key(factor["secret"]), typed, now, drift)
        # ASVS 6.5.1: a code works once. The UPDATE moves last_step on only if
        # this step is newer, so a replayed code (or two requests racing with
        # one) finds 0 rows.
        if step is not None and tx.run("use_totp_step", uid=uid, step=step) == 1:
            return "app"
        return None
    row = tx.one("recovery_code_salt", uid=uid) if len(normalized(typed)) == RECOVERY_LENGTH else None
    if row and tx.run("use_recovery_code", uid=uid, code_hash=code_hash(typed, row["salt"]), now=now) == 1:
        tx.run("count_down_recovery_codes", uid=uid)
        return "recovery code"
    return None
