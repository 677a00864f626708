"""Sessions: a signed cookie carrying a random id, and a server-side row holding its hash."""

import hashlib
import secrets

from itsdangerous import BadSignature, Signer

# 32 random bytes = 256 bits, well above the 64 bits ASVS 3.2.2 asks for.
SESSION_ID_BYTES = 32


class Session:
    """What one request knows about its browser: the session id and, if signed in, the user."""

    def __init__(self, sid, user=None, has_cookie=False):
        self.sid = sid
        self.user = user
        # True when the browser sent a valid cookie carrying this id.
        self.has_cookie = has_cookie
        # True when the browser must be sent a (new) cookie with this response.
        self.needs_cookie = False
        # True when the response must expire the cookie (sign-out).
        self.ended = False


def hash_id(sid: str) -> str:
    """Return the SHA-256 hex digest of a session id, the only form the database sees."""
    # The id is 256 random bits, so a fast hash suffices: there is nothing to
    # guess, only a stolen table to make useless.
    return hashlib.sha256(sid.encode("ascii")).hexdigest()


class SessionStore:
    """Create, find and end sessions; sign and read the cookie."""

    def __init__(self, settings):
        self.lifetime = settings.SESSION_LIFETIME
        self.secure = settings.SECURE_COOKIES
        self.clock = settings.CLOCK
        # The __Host- prefix makes browsers refuse the cookie unless it is
        # Secure, Path=/ and has no Domain, so a sibling subdomain cannot
        # plant one (session fixation). It needs HTTPS, hence only when secure.
        self.cookie_name = "__Host-wsgiauth" if self.secure else "wsgiauth"
        # itsdangerous signs the cookie: a changed byte fails the HMAC check,
        # so only ids this server issued are ever looked up.
        self._cookie_signer = Signer(settings.SECRET_KEY, salt="wsgiauth.session-cookie",
                                     digest_method=hashlib.sha256)
        self._csrf_signer = Signer(settings.SECRET_KEY, salt="wsgiauth.csrf-token",
                                   digest_method=hashlib.sha256)

    def now(self) -> int:
        """Return the current time in whole seconds, from the configured clock."""
        return int(self.clock())

    def load(self, db, request) -> Session:
        """Read the cookie and return the request's Session (signed in or not)."""
        raw = request.cookies.get(self.cookie_name)
        if raw:
            try:
                sid = self._cookie_signer.unsign(raw).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                sid = None  # tampered or signed with another key: a stranger
            if sid:
                row = db.one("session_user", id_hash=hash_id(sid), now=self.now())
                # No row: never signed in, signed out, or expired. The id is
                # still this browser's, and keeps its CSRF token valid.
                return Session(sid, user=row, has_cookie=True)
        # A fresh anonymous id; the cookie is only sent if a form needs it.
        return Session(secrets.token_urlsafe(SESSION_ID_BYTES))

    def begin(self, tx, session: Session, uid: int) -> None:
        """Sign session in as uid under a brand-new id (ASVS 3.2.1: new session id at sign-in)."""
        # The old id, which an attacker may have planted before sign-in, is
        # dropped, never promoted: session fixation cannot work.
        tx.run("delete_session", id_hash=hash_id(session.sid))
        tx.run("delete_expired_sessions", now=self.now())
        session.sid = secrets.token_urlsafe(SESSION_ID_BYTES)
        now = self.now()
        tx.run("insert_session", id_hash=hash_id(session.sid), uid=uid, now=now,
               expires_at=now + self.lifetime)
        session.needs_cookie = True

    def end(self, tx, session: Session) -> None:
        """Delete the server-side row, so a copy of the cookie is worthless (ASVS 3.3.1)."""
        tx.run("delete_session", id_hash=hash_id(session.sid))
        session.user = None
        session.ended = True

    def csrf_token(self, session: Session) -> str:
        """Return the CSRF token for this browser: an HMAC of its session id."""
        # A page that shows a form must also make sure the browser holds the
        # cookie the token is tied to.
        if not session.has_cookie:
            session.needs_cookie = True
        return self._csrf_signer.get_signature(session.sid).decode("ascii")

    def csrf_valid(self, session: Session, token: str) -> bool:
        """Say whether token was issued for this browser's session id."""
        # Synchronizer token tied to the session cookie (OWASP CSRF Cheat
        # Sheet). The token changes at sign-in because the id does.
        return bool(token) and self._csrf_signer.verify_signature(session.sid, token)

    def save(self, request, response, session: Session) -> None:
        """Set or expire the cookie on the response as the session requires."""
        if session.ended:
            response.delete_cookie(self.cookie_name, path="/", secure=self.secure,
                                   httponly=True, samesite="Lax")
        elif session.needs_cookie:
            # No Max-Age: the cookie ends with the browser; the server-side
            # row carries the real expiry. HttpOnly keeps it from scripts;
            # SameSite=Lax keeps it off cross-site POSTs.
            response.set_cookie(self.cookie_name, self._cookie_signer.sign(session.sid).decode("ascii"),
                                path="/", secure=self.secure, httponly=True, samesite="Lax")
