"""Counting attempts in the database: rate limits per client IP, failures per account."""

import hashlib
import math

# Attempts older than this are deleted (Pruner). It must exceed every
# window below: a day is far longer than any of them (the longest is 1 hour).
ATTEMPTS_KEPT = 24 * 60 * 60


def key_hash(key: str) -> str:
    """Return the SHA-256 of what is counted, the only form stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Bucket:
    """Attempts counted under one name (e.g. "signin-ip"), keyed by what is counted."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def record(self, tx, key: str, now: int) -> None:
        """Count one attempt."""
        tx.run("record_attempt", bucket=self.bucket, key_hash=key_hash(key), at=now)

    def clear(self, tx, key: str) -> None:
        """Forget every attempt for key in this bucket (e.g. after a correct sign-in)."""
        tx.run("clear_attempts", bucket=self.bucket, key_hash=key_hash(key))


class Limit(Bucket):
    """At most `limit` attempts per `window` seconds in one bucket (e.g. "contact" per IP)."""

    # What the 429 page says; {wait} becomes "N minutes".
    REFUSAL = "Too many attempts. Try again in {wait}."

    def __init__(self, bucket: str, limit: int, window: int, refusal: str = REFUSAL):
        super().__init__(bucket)
        self.limit = limit
        self.window = window
        self.refusal = refusal

    def refusal_message(self, wait: int) -> str:
        """Return what a person over this limit is told, with the wait in minutes."""
        return self.refusal.format(wait=in_minutes(wait))

    def retry_after(self, tx, key: str, now: int) -> int:
        """Return 0 if another attempt is allowed now, else the seconds to wait."""
        row = tx.one("attempts_since", bucket=self.bucket, key_hash=key_hash(key), since=now - self.window)
        if row["n"] < self.limit:
            return 0
        # The oldest attempt in the window leaves it first; then one is free.
        return max(1, int(row["first_at"]) + self.window - now)

    def hit(self, tx, key: str, now: int) -> int:
        """Record an attempt if allowed; return 0, or the seconds to wait (nothing recorded)."""
        wait = self.retry_after(tx, key, now)
        if not wait:
            self.record(tx, key, now)
        return wait


class Backoff(Bucket):
    """Exponential backoff per key once `failures` failures fall within `window` seconds."""

    # The first wait is `first_wait` seconds after the last failure; each
    # further failure doubles it, up to `max_wait`. Once a wait is over and a
    # whole `window` passes without a failure, the count starts afresh.
    # Failures are counted with record(); a correct attempt should clear().
    def __init__(self, bucket: str, failures: int, window: int, first_wait: int, max_wait: int):
        super().__init__(bucket)
        self.failures = failures
        self.window = window
        self.first_wait = first_wait
        self.max_wait = max_wait

    def wait_after(self, count: int) -> int:
        """Return the seconds to wait after the count-th failure in a row."""
        if count < self.failures:
            return 0
        return min(self.max_wait, self.first_wait * 2 ** (count - self.failures))

    def streak(self, times: list) -> list:
        """Return the failures (times, oldest first) that still count towards the backoff."""
        streak = []
        for at in times:
            if len(streak) < self.failures:
                # Not throttled yet: only failures inside the sliding window count.
                streak = [t for t in streak if t > at - self.window]
            elif at - streak[-1] > self.wait_after(len(streak)) + self.window:
                # Throttled before, but quiet for a window after the wait: start afresh.
                streak = []
            streak.append(at)
        return streak

    def retry_after(self, tx, key: str, now: int) -> int:
        """Return 0 if an attempt is allowed now, else the seconds to wait."""
        rows = tx.all("attempt_times", bucket=self.bucket, key_hash=key_hash(key), since=now - ATTEMPTS_KEPT)
        streak = self.streak([int(row["at"]) for row in rows])
        if not streak:
            return 0
        return max(0, streak[-1] + self.wait_after(len(streak)) - now)


class Pruner:
    """Delete attempts older than ATTEMPTS_KEPT, at most once every `every` seconds per process."""

    def __init__(self, every: int = 300):
        self.every = every
        self.next_at = 0

    def prune(self, tx, now: int) -> None:
        """Delete old attempts if this process has not done so lately (one indexed DELETE)."""
        # Cheap on purpose: the limits call this on every attempt, but the
        # DELETE runs only every few minutes; two threads racing here just
        # delete twice, which is harmless.
        if now < self.next_at:
            return
        self.next_at = now + self.every
        tx.run("delete_old_attempts", before=now - ATTEMPTS_KEPT)


def in_minutes(seconds: int) -> str:
    """Return a wait as "1 minute" or "N minutes", rounded up, for messages like "Try again in N minutes."."""
    n = max(1, math.ceil(seconds / 60))
    return f"{n} minute{'s' if n != 1 else ''}"


def account_key(user, email: str = "") -> str:
    """Return what a per-account limit counts: the user id, or the typed address when no account has it."""
    # Counting for an address nobody has costs the same write as for an
    # account, so the time an answer takes does not tell them apart.
    return f"uid:{user['uid']}" if user else f"email:{email}"
