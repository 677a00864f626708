"""Housekeeping off the request path: expired sessions, old attempts and records past retention, in batches."""

import logging

from .db import DELETE_BATCH
from .limits import ATTEMPTS_KEPT
from .sessions import SessionStore

BATCH = DELETE_BATCH  # rows per DELETE, each its own short transaction (tests make it smaller)
DAY = 24 * 60 * 60
log = logging.getLogger("wsgiauth.cleanup")


def delete_in_batches(db, query, **params) -> int:
    """Run a batched DELETE until a batch deletes fewer rows than BATCH; return how many rows went."""
    return db.delete_in_batches(query, BATCH, **params)


def delete_older_than(db, query, days: int, now: int) -> int:
    """Delete, in batches, the rows query finds older than days (0: none); return how many went."""
    # 0 is the operator's "keep everything" (a legal hold, an investigation).
    return delete_in_batches(db, query, before=now - days * DAY) if days else 0


def cleanup(db, settings) -> dict:
    """Delete expired sessions, old attempts, expired challenges and records past retention; return the counts."""
    # The same expiry and idle rules as every request's session lookup.
    live = SessionStore(settings, settings.now).live(settings.now())
    now = live["now"]
    counts = {"sessions": delete_in_batches(db, "delete_expired_sessions", **live),
              "attempts": delete_in_batches(db, "delete_old_attempts", before=now - ATTEMPTS_KEPT),
              "attempt keys": delete_in_batches(db, "delete_old_attempt_keys", before=now - ATTEMPTS_KEPT),
              "half sign-ins": delete_in_batches(db, "delete_expired_pending_signins", now=now),
              # Passkey challenges nobody answered before they expired.
              "passkey challenges": delete_in_batches(db, "delete_old_passkey_challenges", before=now),
              # ASVS 5.0 14.2.4: personal data goes when its documented
              # retention is over; a deleted account's trail goes by the
              # same rule, so it stays as long as anyone else's, no longer.
              "security events": delete_older_than(db, "delete_old_security_events",
                                                   settings.AUDIT_RETENTION_DAYS, now),
              # A delivered mail is a record of what the site did, like the
              # audit trail, and kept as long.
              "sent mail": delete_older_than(db, "delete_old_sent_mail", settings.AUDIT_RETENTION_DAYS, now),
              "contact messages": delete_older_than(db, "delete_old_contact_messages",
                                                    settings.CONTACT_RETENTION_DAYS, now)}
    if counts["security events"]:
        # Shrinking the audit trail is itself worth a line in the log
        # (ASVS 5.0 16.4.2): who reads the log sees when and how much went.
        log.info("cleanup deleted %d security event(s) older than %d days", counts["security events"],
                 settings.AUDIT_RETENTION_DAYS)
    return counts
