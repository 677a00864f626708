"""Sessions: a signed cookie carrying a random id, and a server-side row holding its hash."""

import hashlib
import secrets

from itsdangerous import BadData, BadSignature, Signer

from . import audit, client
from .accounts import group_names
from .tokens import timed_serializer

# 32 random bytes = 256 bits, well above the 64 bits ASVS 3.2.2 asks for.
SESSION_ID_BYTES = 32
# last_seen is written at most once a minute per session: the idle timeout
# needs no finer clock, and most requests then write nothing at all.
LAST_SEEN_EVERY = 60
# The notice cookie (notices.py) lives this long.
NOTICE_COOKIE_SECONDS = 300
# A token from an email link, moved from the address into a cookie (ASVS 5.0
# 14.2.1, views/common.py), lives this long: enough to choose a password.
LINK_COOKIE_SECONDS = 900


class Session:
    """What one request knows about its browser: the session id and, if signed in, the user."""

    def __init__(self, sid, user=None, has_cookie=False):
        self.sid = sid
        self.user = user
        # "Keep me signed in": a persistent cookie and the longer lifetimes.
        self.remember = bool(user and user.get("remember"))
        # True when the browser sent a valid cookie carrying this id.
        self.has_cookie = has_cookie
        # True when the server holds a row for this id (signed in, perhaps
        # only during this request).
        self.stored = user is not None
        # True when the browser must be sent a (new) cookie with this response.
        self.needs_cookie = False
        # True when the response must expire the cookie (sign-out).
        self.ended = False
        # One-shot notices (notices.py): the one in the session row, the one
        # in the notice cookie, whether the page shown has used them up, and
        # the signed value of a new notice cookie for a browser without a row.
        self.row_notice = user.pop("notice", None) if user else None
        # When this session last confirmed who is using it: signing in, or
        # the Confirm access page (views/access.py); None if never.
        self.access_confirmed_at = user.pop("access_confirmed_at", None) if user else None
        # The user's groups as a sorted tuple of names (session_user reads
        # them comma-separated): the admin area's gate, the nav's Admin link.
        if user:
            user["groups"] = group_names(user.get("groups"))
        self.cookie_notice = None
        self.notices_shown = False
        self.new_notice_cookie = None
        self.drop_notice_cookie = False
        # Link cookies to set or expire: (purpose, signed token or None to
        # expire it, the path of the page that reads it).
        self.link_cookies = []
        # The page's own rows, when its session lookup brings them
        # (routes.SESSION_LOOKUPS): the Security page's lists.
        self.page_rows = []


def hash_id(sid: str) -> str:
    """Return the SHA-256 hex digest of a session id, the only form the database sees."""
    # The id is 256 random bits, so a fast hash suffices: there is nothing to
    # guess, only a stolen table to make useless.
    return hashlib.sha256(sid.encode("ascii")).hexdigest()


class CSRFToken:
    """This browser's CSRF token in a template: {{ csrf_token }} prints it."""

    __slots__ = ("_store", "_session", "_token")

    def __init__(self, store, session):
        self._store = store
        self._session = session
        self._token = None

    def __html__(self):
        """Return the token, as Jinja asks when it prints the object."""
        # Made when a page prints it, so a page without a form sends no
        # cookie; made once per page, however many forms print it (an HMAC
        # each time otherwise). Safe in HTML as it is: base64url characters only.
        if self._token is None:
            self._token = self._store.csrf_token(self._session)
        return self._token

    __str__ = __html__


class SessionStore:
    """Create, find and end sessions; sign and read the cookie."""

    def __init__(self, settings, now):
        self.now = now  # the app's one clock: whole seconds
        self.lifetime = settings.SESSION_LIFETIME
        self.idle_timeout = settings.SESSION_IDLE_TIMEOUT
        self.remember_lifetime = settings.REMEMBER_LIFETIME
        self.remember_idle_timeout = settings.REMEMBER_IDLE_TIMEOUT
        self.max_sessions = settings.MAX_SESSIONS
        self.secure = settings.SECURE_COOKIES
        # The __Host- prefix makes browsers refuse the cookie unless it is
        # Secure, Path=/ and has no Domain, so a sibling subdomain cannot
        # plant one (session fixation). It needs HTTPS, hence only when secure.
        self.cookie_name = "__Host-wsgiauth" if self.secure else "wsgiauth"
        self.notice_cookie_name = self.cookie_name + "-notice"
        # itsdangerous signs the cookie: a changed byte fails the HMAC check,
        # so only ids this server issued are ever looked up. Given a list of
        # keys, it signs with the last (SECRET_KEY) and accepts any of them
        # (SECRET_KEY_FALLBACKS), so a key can be rotated without signing
        # everybody out.
        keys = settings.signing_keys
        self._cookie_signer = Signer(keys, salt="wsgiauth.session-cookie", digest_method=hashlib.sha256)
        self._csrf_signer = Signer(keys, salt="wsgiauth.csrf-token", digest_method=hashlib.sha256)
        self._keys = keys
        # A link cookie is Path-limited, which the __Host- prefix forbids;
        # __Secure- still makes browsers refuse it without Secure.
        self._link_prefix = "__Secure-" if self.secure else ""

    def live(self, now: int) -> dict:
        """Return the query parameters that tell a live session from an expired or idle one."""
        # ASVS 3.3.2: a session ends at its absolute expiry (12 hours, or 30
        # days when remembered) or after the idle timeout, whichever is first.
        return {"now": now, "idle_since": now - self.idle_timeout,
                "remember_idle_since": now - self.remember_idle_timeout}

    def load(self, db, request, query: str = "session_user") -> Session:
        """Read the session cookie; return the Session it names (its rows read by query) or a fresh anonymous one."""
        raw = request.cookies.get(self.cookie_name)
        if raw:
            try:
                sid = self._cookie_signer.unsign(raw).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                sid = None  # tampered or signed with another key: a stranger
            if sid:
                now = self.now()
                # A lone read (no BEGIN/COMMIT): the lookup nearly every
                # request makes. The write below happens at most once a minute.
                rows = db.all(query, id_hash=hash_id(sid), **self.live(now))
                # A page's lookup (routes.SESSION_LOOKUPS) sends the page's
                # own rows, each with its "kind", with the session's.
                row = next((row for row in rows if "kind" not in row), None)
                if row and now - row["last_seen"] >= LAST_SEEN_EVERY:
                    db.transaction(lambda tx: tx.run("touch_session", id_hash=hash_id(sid), now=now))
                # No row: never signed in, signed out, expired or idle too
                # long. The id is still this browser's, and keeps its CSRF
                # token valid.
                session = Session(sid, user=row, has_cookie=True)
                # Without a live session, nothing of the account it named
                # reaches the page (ASVS 5.0 7.2.1: the server decides).
                session.page_rows = [other for other in rows if other is not row] if row else []
                return session
        # A fresh anonymous id; the cookie is only sent if a form needs it.
        return Session(secrets.token_urlsafe(SESSION_ID_BYTES))

    def begin(self, tx, request, uid: int, remember: bool = False) -> None:
        """Sign the request's session in as uid under a brand-new id (ASVS 3.2.1: new session id at sign-in)."""
        # The old id, which an attacker may have planted before sign-in, is
        # dropped, never promoted: session fixation cannot work.
        session = request.session
        now = self.now()
        tx.run("delete_session", id_hash=hash_id(session.sid))
        self.make_room(tx, request, uid)
        session.sid = secrets.token_urlsafe(SESSION_ID_BYTES)
        session.remember = bool(remember)
        lifetime = self.remember_lifetime if remember else self.lifetime
        tx.run("insert_session", id_hash=hash_id(session.sid), uid=uid, now=now, expires_at=now + lifetime,
               remember=int(session.remember),
               # Where the browser was, for the profile's list of sessions.
               # Read only here: cleaning a User-Agent costs more than most
               # requests should pay.
               ip=client.ip(request), user_agent=client.agent(request))
        # The row says so too (insert_session): a sign-in confirms access.
        session.access_confirmed_at = now
        session.needs_cookie = True
        session.stored = True

    def make_room(self, tx, request, uid: int) -> int:
        """End uid's least recently used sessions so that a new one fits under MAX_SESSIONS; return how many ended."""
        # ASVS 5.0 7.1.2: at most MAX_SESSIONS live sessions per account. The
        # oldest in use goes, never the new sign-in (refusing it would lock
        # the owner out). The user's row lock makes two sign-ins of one
        # account take turns, so the database, not a race, decides the count.
        tx.one("lock_user_row", uid=uid)
        beyond = tx.all("sessions_beyond_the_newest", uid=uid, keep=self.max_sessions - 1, **self.live(self.now()))
        for row in beyond:
            tx.run("delete_session", id_hash=row["id_hash"])
        if beyond:
            # The owner sees it on the Security page (session_and_security_page); audit.record
            # reads only the clock of what it is given as the app.
            audit.record(self, tx, request, "session_limit", uid=uid, detail=len(beyond))
        return len(beyond)

    def rotate(self, tx, session: Session) -> None:
        """Move the signed-in session to a new id, keeping its row (after a password change or Confirm access)."""
        # The old id may be what a thief copied; the row stays, and with it
        # its expiry and "Keep me signed in" (session.remember is unchanged,
        # so save() gives the new cookie the same persistence).
        new_sid = secrets.token_urlsafe(SESSION_ID_BYTES)
        tx.run("rename_session", old_hash=hash_id(session.sid), new_hash=hash_id(new_sid))
        session.sid = new_sid
        session.needs_cookie = True

    def confirm_access(self, tx, session: Session) -> None:
        """Record that this session's user has just proved who they are (the Confirm access page), under a new id."""
        now = self.now()
        tx.run("confirm_session_access", id_hash=hash_id(session.sid), now=now)
        session.access_confirmed_at = now
        # ASVS 5.0 7.2.4: new session id at re-authentication, the old one
        # ended. Renamed, not begun again: the row keeps its confirmed-at
        # time, its place in the Security page's list, its expiry and notice.
        self.rotate(tx, session)

    def end(self, tx, session: Session) -> None:
        """Delete the server-side row, so a copy of the cookie is worthless (ASVS 3.3.1)."""
        tx.run("delete_session", id_hash=hash_id(session.sid))
        session.user = None
        session.stored = False
        session.ended = True

    def end_others(self, tx, session: Session) -> int:
        """End every session of this user except this one; return how many ended."""
        # For "Sign out everywhere else" and after a password change: a thief's
        # copy of an old cookie stops working at once.
        return tx.run("delete_other_sessions", uid=session.user["uid"], id_hash=hash_id(session.sid))

    def end_all(self, tx, uid: int) -> int:
        """End every session of user uid (e.g. after a password reset); return how many ended."""
        return tx.run("delete_user_sessions", uid=uid)

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

    def link_cookie_name(self, purpose) -> str:
        """Return the name of the cookie holding a token of this purpose: wsgiauth-reset-password, ..."""
        return self._link_prefix + purpose.salt.replace(".", "-")

    def _link_serializer(self, purpose):
        """Return the serializer of purpose's link cookie: its own salt, so a cookie is never a token."""
        return timed_serializer(self._keys, purpose.salt + ".cookie", self.now)

    def keep_link_token(self, session: Session, purpose, token: str, path: str) -> None:
        """Have save() put token in a short-lived signed cookie sent only to path."""
        session.link_cookies.append((purpose, self._link_serializer(purpose).dumps(token), path))

    def drop_link_token(self, session: Session, purpose, path: str) -> None:
        """Have save() expire the cookie of purpose's token (the link has done its work)."""
        session.link_cookies.append((purpose, None, path))

    def link_token(self, request, purpose) -> str:
        """Return the token this browser's link cookie of purpose holds, or "" (none, stale or forged)."""
        raw = request.cookies.get(self.link_cookie_name(purpose))
        try:
            token = self._link_serializer(purpose).loads(raw, max_age=LINK_COOKIE_SECONDS) if raw else ""
        except BadData:
            return ""
        return token if isinstance(token, str) else ""

    def save(self, request, response, session: Session) -> None:
        """Set or expire the cookies on the response as the session requires: the one place that decides them."""
        if session.ended:
            response.delete_cookie(self.cookie_name, path="/", secure=self.secure,
                                   httponly=True, samesite="Lax")
        elif session.needs_cookie:
            # Unless "Keep me signed in" was ticked, no Max-Age: the cookie
            # ends with the browser. Either way the server-side row carries
            # the real expiry. HttpOnly keeps it from scripts (ASVS 3.4.2);
            # SameSite=Lax keeps it off cross-site POSTs (ASVS 3.4.3).
            max_age = self.remember_lifetime if session.remember else None
            response.set_cookie(self.cookie_name, self._cookie_signer.sign(session.sid).decode("ascii"),
                                max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="Lax")
        if session.new_notice_cookie:
            response.set_cookie(self.notice_cookie_name, session.new_notice_cookie,
                                max_age=NOTICE_COOKIE_SECONDS, path="/", secure=self.secure, httponly=True,
                                samesite="Lax")
        elif session.drop_notice_cookie:
            response.delete_cookie(self.notice_cookie_name, path="/", secure=self.secure, httponly=True,
                                   samesite="Lax")
        for purpose, value, path in session.link_cookies:
            # Sent only to the one page that reads it (Path), never to
            # scripts (HttpOnly), nor with a cross-site POST (SameSite=Lax).
            # Lax, not Strict: the link is opened from a mail program, and the
            # redirect from it must carry the cookie to the page.
            if value is None:
                response.delete_cookie(self.link_cookie_name(purpose), path=path, secure=self.secure,
                                       httponly=True, samesite="Lax")
            else:
                response.set_cookie(self.link_cookie_name(purpose), value, max_age=LINK_COOKIE_SECONDS, path=path,
                                    secure=self.secure, httponly=True, samesite="Lax")
