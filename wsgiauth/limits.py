"""Every rate limit and brute-force backoff of the app, counted in the database, and the 429 they answer with."""

import hashlib
import math

from werkzeug.exceptions import TooManyRequests

from . import audit, client

MINUTE, HOUR = 60, 60 * 60
# Attempts older than this are deleted (`wsgiauth cleanup`). It must exceed every
# window below: a day is far longer than any of them.
ATTEMPTS_KEPT = 24 * HOUR


def in_minutes(seconds: int) -> str:
    """Return a wait as "1 minute" or "N minutes", rounded up, for messages like "Try again in N minutes."."""
    n = max(1, math.ceil(seconds / 60))
    return f"{n} minute{'s' if n != 1 else ''}"


def key_hash(key: str) -> str:
    """Return the SHA-256 of what is counted, the only form stored."""
    # The attempts table never holds an IP address, an email someone typed
    # or a session id in clear.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Limit:
    """At most `limit` attempts per `window` seconds in one bucket, per client IP, account or session."""

    def __init__(self, bucket: str, per: str, limit: int, window: int,
                 refusal: str = "Too many attempts. Try again in {wait}."):
        self.bucket = bucket  # the name stored in the attempts table and the audit trail
        self.per = per  # "ip", "account" or "session": what the key is
        self.limit = limit
        self.window = window
        self.refusal = refusal  # what the person is told; {wait} becomes "N minutes"

    def refusal_message(self, wait: int) -> str:
        """Return what a person over this limit is told."""
        return self.refusal.format(wait=in_minutes(wait))

    def lock(self, tx, key: str, now: int) -> None:
        """Lock key's counter row until tx ends, so checks of one key run one at a time, on any database node."""
        # Counting rows and then adding one is two steps: 20 attempts at once
        # could all count 4 and all be let in. Writing one row per key first
        # makes them queue on its row lock (on one server) or fail Galera's
        # certification at COMMIT and be retried (across nodes); a real
        # change (hits + 1) is what puts the row in the cluster's write set.
        tx.run("lock_attempt_key", bucket=self.bucket, key_hash=key_hash(key), now=now)

    def record(self, tx, key: str, now: int) -> int:
        """Count one attempt; return its row id."""
        return tx.insert("record_attempt", bucket=self.bucket, key_hash=key_hash(key), at=now)

    def retry_after(self, tx, key: str, now: int) -> int:
        """Return 0 if another attempt is allowed now, else the seconds to wait."""
        row = tx.one("attempts_since", bucket=self.bucket, key_hash=key_hash(key), since=now - self.window)
        if row["n"] < self.limit:
            return 0
        # The oldest attempt in the window leaves it first; then one is free.
        return max(1, int(row["first_at"]) + self.window - now)


class Backoff:
    """Exponential backoff per key once `failures` failures fall within `window` seconds."""

    # The first wait is `first_wait` seconds after the last failure; each
    # further failure doubles it, up to `max_wait`. Once a wait is over and a
    # whole `window` passes without a failure, the count starts afresh.
    # Failures are counted with record(); a correct attempt should clear().
    def __init__(self, bucket: str, failures: int, window: int, first_wait: int, max_wait: int):
        self.bucket = bucket
        self.failures = failures
        self.window = window
        self.first_wait = first_wait
        self.max_wait = max_wait

    lock = Limit.lock
    record = Limit.record

    def clear(self, tx, key: str) -> None:
        """Forget every failure for key (after a correct sign-in)."""
        tx.run("clear_attempts", bucket=self.bucket, key_hash=key_hash(key))

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


# -- The table: every limit of the app, in one place ------------------------
# Counted in the database, so each holds across worker processes and servers
# (OWASP Authentication Cheat Sheet; ASVS 2.2.1). Every refusal is written to
# the audit trail as "rate_limited" with the bucket's name.
SIGNIN_PER_IP = Limit("signin-ip", "ip", 30, 10 * MINUTE)  # sign-in forms (valid ones)
SIGNUP_PER_IP = Limit("signup-ip", "ip", 10, 10 * MINUTE)  # valid sign-up forms: each may probe an address
FORGOT_PER_IP = Limit("forgot-ip", "ip", 10, 10 * MINUTE)  # /forgot and the signed-out /confirm: both mail anyone
# Each request for passkey sign-in options stores a challenge row (one per
# session, but a client can shed its cookie): bounded per IP so an anonymous
# client cannot fill the table (ASVS 5.0 2.4.1). Generous: the sign-in page
# asks once per view for the browser's passkey autofill.
PASSKEY_OPTIONS_PER_IP = Limit("passkey-options-ip", "ip", 60, 10 * MINUTE)
CONTACT_PER_IP = Limit("contact", "ip", 5, HOUR,  # OWASP: limit anonymous mailers (honeypot hits count too)
                       "You have sent 5 messages in the last hour, the most we accept. Please try again in {wait}.")
# Mail that a stranger (or a stolen session) can make us send to an account:
# enough to replace a lost email, too few to flood a mailbox. Reset and
# signed-out confirmation mails are dropped silently over the limit: the
# page answers the same for every address.
RESET_MAIL = Limit("reset-mail", "account", 3, HOUR)
CONFIRM_MAIL = Limit("confirm-mail", "account", 1, 5 * MINUTE,
                     "We sent you a link less than 5 minutes ago. Please look for it in your inbox (and your spam "
                     "folder), or ask for another one in {wait}.")
CHANGE_EMAIL_MAIL = Limit("change-email-mail", "account", 3, HOUR,
                          "You have asked for 3 email changes in the last hour, the most we send. "
                          "Please try again in {wait}.")
# Every check of a password, sign-in and the forms that ask for the current
# one: keyed by the email address (typed at sign-in; the account's own on the
# forms), so unknown emails behave like known ones and a stolen session shares
# the account's count with the sign-in page. After 5 failures within 15
# minutes, wait 1 minute, doubling per further failure, at most 1 hour: at
# most ~11 failures in the first hour (ASVS 2.2.1 allows 100).
PASSWORD_PER_ACCOUNT = Backoff("password-account", failures=5, window=15 * MINUTE, first_wait=MINUTE,
                               max_wait=HOUR)
# The 5th wrong current password in one signed-in session ends that session:
# a stolen cookie buys a handful of guesses, not one per backoff period.
PASSWORD_PER_SESSION = Limit("password-session", "session", 5, ATTEMPTS_KEPT)


def try_again(wait: int) -> str:
    """Return "Too many attempts. Try again in N minutes.", what a throttled password check is told."""
    return f"Too many attempts. Try again in {in_minutes(wait)}."


class TooManyAttempts(TooManyRequests):
    """429 with Retry-After, shown in the site layout."""

    def __init__(self, wait: int, message: str):
        super().__init__(description=message, retry_after=wait)


def key_of(limit: Limit, request, user=None, email: str = "") -> str:
    """Return what `limit` counts for this request: the client IP, the account (or typed address), or the session."""
    if limit.per == "ip":
        # REMOTE_ADDR, or the client ProxyFix found behind WSGIAUTH_TRUSTED_PROXIES.
        return client.ip(request)
    if limit.per == "session":
        return f"session:{request.session.sid}"  # stored only as a SHA-256, like every key
    # Counting for an address nobody has costs the same write as for an
    # account, so the time an answer takes does not tell them apart.
    return f"uid:{user['uid']}" if user else f"email:{email}"


def hit(app, tx, request, limit: Limit, user=None, email: str = "") -> int:
    """Count an attempt inside tx if limit allows it; return 0, or the seconds to wait (audited, nothing counted)."""
    now = app.now()
    key = key_of(limit, request, user, email)
    limit.lock(tx, key, now)
    wait = limit.retry_after(tx, key, now)
    if wait:
        audit.record(app, tx, request, "rate_limited", uid=user and user["uid"], detail=limit.bucket)
    else:
        limit.record(tx, key, now)
    return wait


def check(app, request, limit: Limit, user=None, email: str = "") -> None:
    """Count an attempt against limit in a transaction of its own; raise a 429 when over it."""
    # Committed before the caller does its work: the count stays even if
    # that work fails, and a refusal keeps its audit row.
    wait = app.db.transaction(lambda tx: hit(app, tx, request, limit, user, email))
    if wait:
        raise TooManyAttempts(wait, limit.refusal_message(wait))


def verify_password(app, request, user, email: str, password: str, event: str = "signin") -> tuple:
    """Check password for the account with this email under its backoff; return (right, seconds to wait)."""
    # Every password check in the app goes through here (ASVS 2.2.1): a
    # throttled attempt costs no hash, and each failure is counted and
    # audited as "<event>_failed" (or "<event>_throttled" when refused).
    right, wait = verify(app, request, user, email, lambda: app.passwords.verify(user, password), event)
    return bool(right), wait


def verify(app, request, user, email: str, check, event: str) -> tuple:
    """Run check() under the account's backoff; return (what check returned, or None if refused; seconds to wait)."""
    # Wrong passwords and wrong second-factor codes share one count per
    # account (ASVS 6.3.1 / 2.2.1): knowing the password buys no extra guesses
    # at the code, and a throttled attempt runs no check at all.
    now = app.now()
    uid = user and user["uid"]

    def take_a_turn(tx):
        """Refuse (audited), or count this attempt now, before the hash: return (wait, attempt id)."""
        # Counted first and forgiven if the password is right: counting only
        # failures would let 20 guesses that arrive together all pass the
        # check before any of them is counted.
        PASSWORD_PER_ACCOUNT.lock(tx, email, now)
        wait = PASSWORD_PER_ACCOUNT.retry_after(tx, email, now)
        if wait:
            audit.record(app, tx, request, f"{event}_throttled", uid=uid)
            return wait, None
        return 0, PASSWORD_PER_ACCOUNT.record(tx, email, now)

    wait, attempt_id = app.db.transaction(take_a_turn)
    if wait:
        return None, wait
    result = check()
    if result:
        app.db.transaction(lambda tx: tx.run("forget_attempt", id=attempt_id))
        return result, 0
    app.db.transaction(lambda tx: audit.record(app, tx, request, f"{event}_failed", uid=uid))
    return None, 0


def session_failures_exhausted(app, request) -> bool:
    """Count a wrong current password against this session; say whether it has now had too many."""
    key, now = key_of(PASSWORD_PER_SESSION, request), app.now()

    def count(tx):
        """Count the failure and say whether the session is over its limit now."""
        PASSWORD_PER_SESSION.lock(tx, key, now)
        PASSWORD_PER_SESSION.record(tx, key, now)
        return PASSWORD_PER_SESSION.retry_after(tx, key, now) > 0

    return app.db.transaction(count)
