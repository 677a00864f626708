"""Counting attempts in the database: rate limits per client IP, failures per account."""

import hashlib
import math


def key_hash(key: str) -> str:
    """Return the SHA-256 of what is counted, the only form stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Limit:
    """At most `limit` attempts per `window` seconds in one bucket (e.g. "contact" per IP)."""

    def __init__(self, bucket: str, limit: int, window: int):
        self.bucket = bucket
        self.limit = limit
        self.window = window

    def retry_after(self, tx, key: str, now: int) -> int:
        """Return 0 if another attempt is allowed now, else the seconds to wait."""
        row = tx.one("attempts_since", bucket=self.bucket, key_hash=key_hash(key), since=now - self.window)
        if row["n"] < self.limit:
            return 0
        # The oldest attempt in the window leaves it first; then one is free.
        return max(1, int(row["first_at"]) + self.window - now)

    def record(self, tx, key: str, now: int) -> None:
        """Count one attempt (and forget attempts older than the window)."""
        tx.run("record_attempt", bucket=self.bucket, key_hash=key_hash(key), at=now)

    def clear(self, tx, key: str) -> None:
        """Forget every attempt for key in this bucket (e.g. after a correct sign-in)."""
        tx.run("clear_attempts", bucket=self.bucket, key_hash=key_hash(key))

    def hit(self, tx, key: str, now: int) -> int:
        """Record an attempt if allowed; return 0, or the seconds to wait (nothing recorded)."""
        wait = self.retry_after(tx, key, now)
        if not wait:
            self.record(tx, key, now)
        return wait


def minutes(seconds: int) -> int:
    """Round a wait up to whole minutes, for messages like "Try again in N minutes."."""
    return max(1, math.ceil(seconds / 60))


def in_minutes(seconds: int) -> str:
    """Return a wait as "1 minute" or "N minutes", rounded up."""
    n = minutes(seconds)
    return f"{n} minute{'s' if n != 1 else ''}"


def account_key(user, email: str = "") -> str:
    """Return what a per-account limit counts: the user id, or the typed address when no account has it."""
    # Counting for an address nobody has costs the same write as for an
    # account, so the time an answer takes does not tell them apart.
    return f"uid:{user['uid']}" if user else f"email:{email}"
