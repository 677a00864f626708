"""The limits on sign-in, sign-up and forgot-password attempts, and the 429 they answer with."""

from werkzeug.exceptions import TooManyRequests

from . import audit, client
from .ratelimit import Backoff, Limit, in_minutes

# Per client IP, counted in the database so the limits hold across worker
# processes and machines (OWASP Authentication Cheat Sheet; ASVS 2.2.1).
SIGNIN_PER_IP = Limit("signin-ip", limit=30, window=10 * 60)
SIGNUP_PER_IP = Limit("signup-ip", limit=10, window=10 * 60)
FORGOT_PER_IP = Limit("forgot-ip", limit=10, window=10 * 60)  # for issue 4's /forgot

# Per account (keyed by the email as typed, so unknown emails behave exactly
# like known ones): after 5 failures within 15 minutes, wait 1 minute after
# the last failure, doubling with each further failure, at most 1 hour.
# That allows at most ~11 failures in the first hour (ASVS 2.2.1: <= 100).
SIGNIN_PER_ACCOUNT = Backoff("signin-account", failures=5, window=15 * 60, first_wait=60, max_wait=60 * 60)


def try_again_message(wait: int) -> str:
    """Return "Too many attempts. Try again in N minutes." for a wait in seconds."""
    return f"Too many attempts. Try again in {in_minutes(wait)}."


class TooManyAttempts(TooManyRequests):
    """429 with Retry-After, shown in the site layout."""

    def __init__(self, wait: int):
        super().__init__(description=try_again_message(wait), retry_after=wait)


def check_ip(app, request, limit: Limit) -> None:
    """Count this attempt against limit for the client's IP; raise a 429 when over it."""
    now = app.sessions.now()
    with app.db.transaction() as tx:
        app.pruner.prune(tx, now)
        wait = limit.hit(tx, client.ip(request), now)
        if wait:
            audit.record(app, tx, request, "rate_limited", detail=limit.bucket)
    # Raised after the transaction commits, so the audit row is kept.
    if wait:
        raise TooManyAttempts(wait)
