"""The limits on password checks, sign-up, forgot-password and Contact, and the 429 they answer with."""

from werkzeug.exceptions import TooManyRequests

from . import audit, client
from .ratelimit import Backoff, Limit, in_minutes

# Per client IP, counted in the database so the limits hold across worker
# processes and machines (OWASP Authentication Cheat Sheet; ASVS 2.2.1).
SIGNIN_PER_IP = Limit("signin-ip", limit=30, window=10 * 60)
SIGNUP_PER_IP = Limit("signup-ip", limit=10, window=10 * 60)
FORGOT_PER_IP = Limit("forgot-ip", limit=10, window=10 * 60)
# OWASP: limit anonymous mailers. Honeypot messages count too.
CONTACT_PER_IP = Limit("contact", limit=5, window=60 * 60, refusal=(
    "You have sent 5 messages in the last hour, the most we accept. Please try again in {wait}."))

# Per account, for every check of a password: sign-in and each form that asks
# for the current one (change email, change password, delete). Keyed by the
# email address (typed at sign-in; the account's own on the forms), so unknown
# emails behave exactly like known ones and a stolen session shares the
# account's count with the sign-in page. After 5 failures within 15 minutes,
# wait 1 minute after the last failure, doubling with each further failure,
# at most 1 hour: at most ~11 failures in the first hour (ASVS 2.2.1: <= 100).
PASSWORD_PER_ACCOUNT = Backoff("password-account", failures=5, window=15 * 60, first_wait=60, max_wait=60 * 60)
# Per signed-in session: the 5th wrong current password ends the session, so
# a stolen cookie (or an unlocked shared computer) buys a handful of guesses,
# not one every backoff period for as long as the session lives.
PASSWORD_PER_SESSION = Limit("password-session", limit=5, window=24 * 60 * 60)


def try_again_message(wait: int) -> str:
    """Return "Too many attempts. Try again in N minutes." for a wait in seconds."""
    return Limit.REFUSAL.format(wait=in_minutes(wait))


class TooManyAttempts(TooManyRequests):
    """429 with Retry-After, shown in the site layout."""

    def __init__(self, wait: int, message: str = ""):
        super().__init__(description=message or try_again_message(wait), retry_after=wait)


def check_ip(app, request, limit: Limit) -> None:
    """Count this attempt against limit for the client's IP; raise a 429 when over it."""
    now = app.sessions.now()
    with app.db.transaction() as tx:
        app.pruner.prune(tx, now)
        wait = limit.hit(tx, client.ip(request), now)
        if wait:
            audit.record(app, tx, request, "rate_limited", detail=limit.bucket)
    # Its own transaction, committed before the caller does its work: the
    # count stays even if that work fails, and a 429 keeps its audit row.
    if wait:
        raise TooManyAttempts(wait, limit.refusal_message(wait))


def verify_password(app, request, user, email: str, password: str, event: str = "signin") -> tuple:
    """Check password for the account with this email under its backoff; return (right, seconds to wait)."""
    # Every password check in the app goes through here (ASVS 2.2.1): a
    # throttled attempt costs no hash, and each failure is counted and
    # audited as "<event>_failed" (or "<event>_throttled" when refused).
    now = app.sessions.now()
    uid = user and user["uid"]
    with app.db.transaction() as tx:
        wait = PASSWORD_PER_ACCOUNT.retry_after(tx, email, now)
        if wait:
            audit.record(app, tx, request, f"{event}_throttled", uid=uid)
    if wait:
        return False, wait
    if app.passwords.verify(user, password):
        return True, 0
    with app.db.transaction() as tx:
        PASSWORD_PER_ACCOUNT.record(tx, email, now)
        audit.record(app, tx, request, f"{event}_failed", uid=uid)
    return False, 0


def session_failures_exhausted(app, request) -> bool:
    """Count a wrong current password against this session; say whether it has now had too many."""
    key = f"session:{request.session.sid}"  # stored only as a SHA-256, like every key
    with app.db.transaction() as tx:
        PASSWORD_PER_SESSION.record(tx, key, app.sessions.now())
        return PASSWORD_PER_SESSION.retry_after(tx, key, app.sessions.now()) > 0
