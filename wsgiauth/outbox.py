"""The outbox: every email is stored with the change that causes it, then delivered and retried."""

import atexit
import dataclasses
import logging
import os
import queue
import secrets
import threading
import time

from .db import DatabaseUnavailable, is_fault
from .mailer import (
    MESSAGE_ERRORS,
    SERVER_ERRORS,
    backend_from_url,
    build_message,
    describe_error,
    domain_of,
    new_message_id,
)

log = logging.getLogger("wsgiauth.outbox")

# Retry after 1, 2, 4, 8 ... minutes, never waiting more than an hour, and
# never giving up: a message leaves the outbox only by being delivered.
FIRST_RETRY = 60
LONGEST_RETRY = 60 * 60
# "Every pending message, whatever its retry time" (deliver-mail --now).
ANY_TIME = 2**62
# At exit, how long a process waits for mail it has still to hand over.
DRAIN_SECONDS = 10


def retry_delay(attempts: int) -> int:
    """Return the seconds to wait after the given number of failed attempts."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


@dataclasses.dataclass
class Report:
    """What one delivery run did, for the log and for deliver-mail's output."""

    sent: list = dataclasses.field(default_factory=list)  # (id, recipient domain)
    failed: list = dataclasses.field(default_factory=list)  # (id, domain, attempts, error, next_attempt_at)
    not_tried: list = dataclasses.field(default_factory=list)  # ids left for later: server unusable


class Courier:
    """One thread per process that delivers the mail requests queued, away from their connections."""

    # Delivering in the request's own close() made the connection of a
    # /forgot for a real account close measurably later than for an unknown
    # address (security review, issue 11). The rows are in the outbox before
    # they are handed over, so a process that dies first loses nothing:
    # `deliver-mail` sends them.
    def __init__(self, deliver):
        self._deliver = deliver
        self._lock = threading.Lock()
        self._queue = None
        self._thread = None
        self._pid = None

    def hand_over(self, ids) -> None:
        """Queue outbox ids for the delivery thread, starting it on first use in this process."""
        with self._lock:
            # A worker forked from a process that had the thread has no
            # thread of its own (fork copies only the calling thread).
            if self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue()
                self._thread = threading.Thread(target=self._run, args=(self._queue,), name="wsgiauth-outbox",
                                                daemon=True)
                self._thread.start()
                if self._pid is None:
                    atexit.register(self.wait, DRAIN_SECONDS)
                self._pid = os.getpid()
            self._queue.put(ids)

    def _run(self, ids_queue) -> None:
        """Deliver each batch of ids handed over, for as long as the process lives."""
        while True:
            ids = ids_queue.get()
            try:
                self._deliver(ids)
            finally:
                ids_queue.task_done()

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until the mail handed over so far has been tried, or timeout seconds have passed."""
        deadline = time.monotonic() + timeout
        ids_queue = self._queue
        while ids_queue is not None and ids_queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)


class Outbox:
    """Queue mail in the caller's transaction; deliver it after commit or from cron."""

    def __init__(self, db, settings, now):
        self.db = db
        self.now = now  # the app's one clock: whole seconds
        self.mail_from = settings.MAIL_FROM
        self.backend = backend_from_url(settings.MAIL_URL, settings.MAIL_TIMEOUT)
        # A claim outlives any one SMTP conversation (each network step is
        # bounded by the timeout), so it only lapses if its process died.
        self.claim_seconds = max(300, 20 * settings.MAIL_TIMEOUT)
        self.courier = Courier(self._deliver_quietly)

    def enqueue(self, tx, *, to, subject, body, reply_to=None) -> int:
        """Store one email in the outbox inside tx and return its id (ValueError on a bad header)."""
        return self.store(tx, self.draft(to=to, subject=subject, body=body, reply_to=reply_to))

    @staticmethod
    def store(tx, row) -> int:
        """Store an outbox row made by draft() inside tx and return its id."""
        return tx.insert("insert_outbox", **row)

    def draft(self, *, to, subject, body, reply_to=None) -> dict:
        """Return the outbox row for one email, checked by building the message once."""
        row = dict(message_id=new_message_id(self.mail_from), mail_from=self.mail_from, mail_to=to,
                   reply_to=reply_to, subject=subject, body=body, created_at=self.now())
        # Built once now, so a header the email package refuses (e.g. a CR/LF
        # injection) fails the caller's transaction instead of being stored.
        self.message(row)
        return row

    @staticmethod
    def message(row):
        """Return the EmailMessage for an outbox row."""
        return build_message(mail_from=row["mail_from"], to=row["mail_to"], reply_to=row["reply_to"],
                             subject=row["subject"], body=row["body"], message_id=row["message_id"],
                             date=row["created_at"])

    def deliver_after(self, response, *ids):
        """Hand the given outbox ids to the delivery thread once response has been sent; return response."""
        # The WSGI server calls close() after the last byte of the page is
        # written; the caller's transaction has committed by then, so the
        # rows exist. The visitor never waits for (or on) the mail server.
        if ids:
            response.call_on_close(lambda: self.courier.hand_over(ids))
        return response

    def _deliver_quietly(self, ids):
        """Deliver ids, logging instead of raising (the response is already gone)."""
        try:
            self.deliver(ids)
        except Exception as error:
            if isinstance(error, DatabaseUnavailable) or is_fault(error):
                # The database failed (a server down, a lost connection), not
                # this code: one line, as for the requests it fails at the same
                # moment, and no traceback per email.
                log.warning("Delivering mail after the response failed (%s); deliver-mail will retry", error)
            else:
                log.exception("Delivering mail after the response failed; deliver-mail will retry")

    def deliver(self, ids, retry_now=False) -> Report:
        """Try to send the given outbox ids (those pending, due and unclaimed); report."""
        report = Report()
        connection = self.backend.connect()
        try:
            for position, mail_id in enumerate(ids):
                if not self._deliver_one(connection, mail_id, retry_now, report):
                    report.not_tried.extend(ids[position + 1:])
                    break
        finally:
            connection.close()
        return report

    def deliver_due(self, retry_now=False, limit=1000) -> Report:
        """Send every pending message whose retry time has come (all of them if retry_now)."""
        now = self.now()
        rows = self.db.all("outbox_due", due_by=ANY_TIME if retry_now else now, now=now, limit=limit)
        return self.deliver([row["id"] for row in rows], retry_now)

    def waiting(self):
        """Return (how many messages wait out a retry delay, when the next is due)."""
        row = self.db.one("outbox_waiting", due_by=self.now())
        return row["n"], row["next_at"]

    def _claim(self, mail_id, retry_now):
        """Claim one message for this process; return (row, claim) or (None, None)."""
        now, claim = self.now(), secrets.token_hex(16)

        def take(tx):
            """Claim the message if it is free; return its row, or None."""
            taken = tx.run("claim_outbox", id=mail_id, claim=claim, claimed_until=now + self.claim_seconds,
                           due_by=ANY_TIME if retry_now else now, now=now)
            # rowcount decides: 0 means sent already, not due, or another
            # process (a request, a second cron run) holds it right now.
            return tx.one("claimed_outbox", id=mail_id, claim=claim) if taken == 1 else None

        row = self.db.transaction(take)
        return (row, claim) if row else (None, None)

    def _deliver_one(self, connection, mail_id, retry_now, report) -> bool:
        """Send one claimed message and record the outcome; False if the server is unusable."""
        row, claim = self._claim(mail_id, retry_now)
        if row is None:
            return True
        domain = domain_of(row["mail_to"])
        try:
            connection.send(self.message(row))
        except (*MESSAGE_ERRORS, *SERVER_ERRORS) as error:
            attempts = row["attempts"] + 1
            next_at = self.now() + retry_delay(attempts)
            text = describe_error(error)
            self.db.transaction(lambda tx: tx.run("outbox_failed", id=mail_id, claim=claim, error=text,
                                                  next_attempt_at=next_at))
            # The log names the recipient's domain only, never the body.
            log.warning("Mail #%s to a recipient at %s failed (attempt %d): %s", mail_id, domain, attempts, text)
            report.failed.append((mail_id, domain, attempts, text, next_at))
            return isinstance(error, MESSAGE_ERRORS)
        self.db.transaction(lambda tx: tx.run("outbox_sent", id=mail_id, claim=claim, now=self.now()))
        log.info("Mail #%s sent to a recipient at %s via %s", mail_id, domain, self.backend.describe())
        report.sent.append((mail_id, domain))
        return True
