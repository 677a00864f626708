"""Housekeeping off the request path: expired sessions and old attempt rows, deleted in bounded batches."""

from .limits import ATTEMPTS_KEPT
from .sessions import SessionStore

# Rows per DELETE: each batch is a short transaction of its own, so a
# cleanup never holds locks for long (on a Galera cluster, one huge write set
# would stall every node while it is certified).
BATCH = 1000


def delete_in_batches(db, query, **params) -> int:
    """Run a batched DELETE until a batch deletes fewer rows than BATCH; return how many rows went."""
    deleted = 0
    while True:
        n = db.transaction(lambda tx: tx.run(query, batch=BATCH, **params))
        deleted += n
        if n < BATCH:
            return deleted


def cleanup(db, settings) -> dict:
    """Delete expired or idle sessions, old attempts and expired passkey challenges; return the counts."""
    # The same expiry and idle rules as every request's session lookup.
    live = SessionStore(settings, settings.now).live(settings.now())
    now = live["now"]
    return {"sessions": delete_in_batches(db, "delete_expired_sessions", **live),
            "attempts": delete_in_batches(db, "delete_old_attempts", before=now - ATTEMPTS_KEPT),
            "attempt keys": delete_in_batches(db, "delete_old_attempt_keys", before=now - ATTEMPTS_KEPT),
            "half sign-ins": delete_in_batches(db, "delete_expired_pending_signins", now=now),
            # Passkey challenges nobody answered before they expired.
            "passkey challenges": delete_in_batches(db, "delete_old_passkey_challenges", before=now)}
