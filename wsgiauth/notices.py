"""One-shot notices ("Your name has been updated."): left by one request, shown once by the next page."""

from itsdangerous import BadData

from .sessions import NOTICE_COOKIE_SECONDS, hash_id
from .tokens import timed_serializer


class Notices:
    """Leave a notice for a browser, and hand it to the next page it sees, once."""

    # A signed-in browser keeps its notice in its session row. One without a
    # row (signed out, or its account just deleted) gets a short-lived signed
    # cookie instead: never a query parameter, so nobody can make the site
    # say something it did not, e.g. a link that "tells" a visitor their
    # account was deleted.
    def __init__(self, keys, now):
        self._serializer = timed_serializer(keys, "wsgiauth.notice", now)

    def read_cookie(self, session, raw) -> None:
        """Take the notice from this request's notice cookie, if any, into session."""
        if not raw:
            return
        try:
            session.cookie_notice = self._serializer.loads(raw, max_age=NOTICE_COOKIE_SECONDS)
        except BadData:
            session.drop_notice_cookie = True  # stale or forged: forget it

    def leave(self, tx, session, text: str) -> None:
        """Leave a notice for this browser's next page, in its session row or (without one) a signed cookie."""
        if session.stored:
            tx.run("set_session_notice", id_hash=hash_id(session.sid), notice=text)
        else:
            # Signed, not encrypted: anyone with the browser can read the
            # cookie, so a notice left without a session row names no one
            # (ASVS 5.0 14.3.3; views/signin.py:CONFIRM_FIRST).
            session.new_notice_cookie = self._serializer.dumps(text)

    @staticmethod
    def take(session) -> list:
        """Return the notices waiting for this browser and mark them shown (forget_shown clears them)."""
        notices = [n for n in (session.row_notice, session.cookie_notice) if n]
        session.notices_shown = bool(notices)
        return notices

    @staticmethod
    def forget_shown(db, session) -> None:
        """Clear the notices a page has shown, after it was rendered: each is shown once."""
        # Here, in the request cycle, not while rendering: a template has no
        # side effects on the database.
        if not session.notices_shown:
            return
        if session.row_notice and session.stored:
            db.transaction(lambda tx: tx.run("clear_session_notice", id_hash=hash_id(session.sid)))
        if session.cookie_notice:
            session.drop_notice_cookie = True
        session.row_notice = session.cookie_notice = None
