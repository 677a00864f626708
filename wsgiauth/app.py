"""The WSGI application object: routing, sessions, CSRF, rendering and error pages."""

import importlib.resources
import io
import logging
import re
import secrets
import time
from types import MappingProxyType
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.exceptions import (
    BadHost,
    BadRequest,
    Forbidden,
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property, redirect
from werkzeug.wrappers import Request as BaseRequest
from werkzeug.wrappers import Response

from . import audit
from .client import describe_agent
from .db import DatabaseUnavailable, is_fault
from .notices import Notices
from .outbox import Outbox
from .passkeys import relying_party
from .passwords import Passwords, context_words, load_common
from .redirects import here, origin_of
from .routes import (
    CONFIRMED,
    GROUP_ONLY,
    IDENTITY_LOOKUP,
    PUBLIC,
    SECOND_FACTOR_SETUP,
    SHOWN_AGAIN,
    VIEWS,
    session_lookup,
    url_map,
)
from .sessions import CSRFToken, SessionStore
from .tokens import Tokens
from .views import access
from .views.pages import STATIC_DIR, StaticFiles

log = logging.getLogger("wsgiauth")

# Shown above a form whose CSRF token had expired (WSGIAuth.show_form_again).
FORM_EXPIRED = "This form had expired, so nothing was saved. Please check and send it again."

# Methods that change state and therefore need a CSRF token.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Sent with every response (OWASP Secure Headers; ASVS 14.4): no inline
# script, no framing (clickjacking), no MIME sniffing, no full-URL referrers.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# ASVS 5.0 3.2.1: a response that is no HTML page (JSON, a CSV or JSON
# download, plain text, a static file) is never meant to be a document;
# opened directly, the browser renders it sandboxed (a unique origin, no
# script), whatever it holds.
NOT_A_PAGE_HEADERS = {**SECURITY_HEADERS,
                      "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"] + "; sandbox"}


class PageURLs:
    """The URLs templates use: urls.home, urls["home"] when the name is in a variable, urls.static["style.css"]."""

    def __init__(self, **urls):
        self.__dict__.update(urls)

    def __getitem__(self, name):
        """Return the URL of endpoint `name`."""
        return self.__dict__[name]


class Request(BaseRequest):
    """A Werkzeug request that also carries its URL adapter and Session."""

    adapter = None  # werkzeug.routing.MapAdapter bound to this request
    session = None  # wsgiauth.sessions.Session
    # What was typed into an expired form shown again (forms.typed, forms.refilled read it).
    refill = MappingProxyType({})
    expired = False  # True when this GET is an expired form shown again

    @cached_property
    def args(self):
        """Return the query string's parameters; bytes that are no UTF-8 become U+FFFD, as in the path."""
        # Browsers percent-encode a URL, but any client may send raw bytes
        # (?next=\xff), and Werkzeug decodes the query string strictly: a
        # UnicodeDecodeError, a 500 (found by the fuzz test, issue 14).
        # Decoded once, escaped bytes (%ff) the same way, before any check
        # reads a value (ASVS 5.0 1.1.1).
        return self.parameter_storage_class(parse_qsl(self.query_string.decode("utf-8", "replace"),
                                                      keep_blank_values=True, errors="replace"))

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        """Return where the bytes of a file sent in a multipart form go: memory, as no form here takes a file."""
        # Werkzeug's default is a temporary file (on disk past 500 KB) that
        # nothing closes when the body turns out to be malformed or too
        # large halfway: a client could leave open files behind at will
        # (found by the fuzz test, issue 14). The whole body is at most
        # WSGIAUTH_MAX_CONTENT_LENGTH, so memory holds it (ASVS 5.0 5.2.1:
        # no file the app cannot handle without harm).
        return io.BytesIO()


class CSRFError(BadRequest):
    """A state-changing request without the token of this browser's session."""

    description = "This form has expired. Please reload the page and try again."


class NotInGroup(Forbidden):
    """A signed-in user asked for a page of a group they are not in (the admin area)."""

    description = "This page is only for administrators. If you need it, ask one of them to add you."


class SecondFactorNeeded(HTTPException):
    """A signed-in account that must have a second factor, and has none yet, asked for another page."""

    code = 303

    def __init__(self, location):
        super().__init__()
        self.location = location

    def get_response(self, environ=None, scope=None):
        """Answer with a 303 to the page where a second factor is set up."""
        return redirect(self.location, code=303)


class CrossOriginError(Forbidden):
    """A state-changing request sent by a page of another site."""

    description = "This request came from another site, so it was refused."


# What X-Forwarded-Prefix may say: an absolute path of plain segments.
_PLAIN_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?")


def plain_prefix_only(proxy_fix):
    """Wrap ProxyFix so it never sees an X-Forwarded-Prefix that is not a plain absolute path."""
    # The prefix becomes SCRIPT_NAME, the start of every link and Location:
    # a client-sent "//evil.example" would turn them all into links to
    # another site, unless the proxy overwrites the header (security review,
    # issue 11). Dropped, the app is served at the path it was mounted at.
    def app(environ, start_response):
        prefixes = environ.get("HTTP_X_FORWARDED_PREFIX")
        if prefixes is not None and not all(_PLAIN_PREFIX.fullmatch(p.strip()) for p in prefixes.split(",")):
            del environ["HTTP_X_FORWARDED_PREFIX"]
        return proxy_fix(environ, start_response)

    return app


def format_time(seconds) -> str:
    """Format epoch seconds for people, in UTC (e.g. 2027-01-15 08:00 UTC)."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(seconds)))


def first_invalid(errors, *fields):
    """Return the first of fields (in page order) that has an error, or None; it gets autofocus."""
    if not errors:  # the usual case, a form shown for the first time
        return None
    return next((name for name in fields if name in errors), None)


# Names a template may call on a dict (fields.items): they stay the methods.
DICT_METHODS = frozenset(dir(dict))


class Templates(Environment):
    """Jinja's Environment, reading `row.name` from a dict without the detour Jinja takes first."""

    def getattr(self, obj, attribute):
        """Return obj.attribute; for a dict, its item of that name when it has one."""
        # Jinja tries getattr(obj, name) first, and on a dict (every database
        # row, session.user) that raises AttributeError before the item is
        # looked up: ~0.9 µs per `{{ row.at }}`, ~60 µs on the Security page
        # (issue 18). Jinja's own getitem (`row["at"]`) also tries the item first.
        if type(obj) is dict and attribute not in DICT_METHODS:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class WSGIAuth:
    """One explicit application object; its __call__ is the WSGI entry point."""

    def __init__(self, settings, db):
        self.settings = settings
        self.db = db
        self.url_map = url_map()
        # Endpoints that need access confirmed recently (routes.CONFIRMED).
        self.confirmed_endpoints = CONFIRMED
        # Who must have a second factor (WSGIAUTH_REQUIRE_SECOND_FACTOR):
        # None (nobody: no query, ever), "*" or a frozenset of groups.
        self.second_factor_scope = settings.second_factor_groups
        self._page_urls = {}  # SCRIPT_NAME -> PageURLs
        # The pages every anonymous visitor sees alike (shared_page): (template,
        # SCRIPT_NAME, endpoint, the view's values) -> the page cut where the token goes.
        self._shared_pages = {}
        self._token_marker = secrets.token_hex(16)
        # The packaged static files, hashed once here: templates link
        # style.3f9a1c2b.css, a name that changes with the content.
        self.static_files = StaticFiles(STATIC_DIR)
        # The one clock: every component that needs the time is given this.
        self.now = settings.now
        self.sessions = SessionStore(settings, self.now)
        self.notices = Notices(settings.signing_keys, self.now)
        self.passwords = Passwords(settings.PASSWORD_METHOD)
        # ASVS 2.1.7: the common passwords nobody may choose, read once per
        # process (~1.6 MiB) and passed to the validators that need them.
        self.common_passwords = load_common()
        # ASVS 5.0 6.1.2, 6.2.11: the site's own words, refused in new passwords too.
        self.context_words = context_words(settings)
        # Every email goes through the outbox: enqueue(tx, ...) in the
        # transaction that causes it, deliver_after(response, id) to send it.
        self.outbox = Outbox(db, settings, self.now)
        # The signed, timed tokens in the links of account emails.
        # Signed with SECRET_KEY, and still accepted under SECRET_KEY_FALLBACKS,
        # like the cookies: a key rotation does not break links already mailed.
        self.tokens = Tokens(settings.signing_keys, self.now)
        # Passkeys (WebAuthn): None unless the fido2 extra is installed and
        # WSGIAUTH_BASE_URL names the site (its host is the RP ID); the name
        # authenticators show is WSGIAUTH_SITE_NAME.
        self.passkeys = relying_party(settings, settings.SITE_NAME)
        # Origins (WSGIAUTH_FORWARD_AUTH_HOSTS) a browser may be sent back to
        # after signing in for an application behind forward authentication.
        self.forward_auth_origins = settings.forward_auth_origins
        # Links in emails are built against WSGIAUTH_BASE_URL when it is set,
        # never against the Host header a client sent (see external_url).
        self.base_adapter = None
        if settings.BASE_URL:
            base = urlsplit(settings.BASE_URL)
            self.base_adapter = self.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
        # Templates are compiled once per process and kept (auto_reload off):
        # no stat() of template files on every request.
        self.jinja = Templates(
            # templates/ ships inside the package as wsgiauth.templates (setup.cfg).
            loader=FileSystemLoader(str(importlib.resources.files("wsgiauth.templates"))),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self.jinja.filters.update(timestamp=format_time, browser=describe_agent, first_invalid=first_invalid)
        # The templates use none of Jinja's default globals (range, dict,
        # lipsum, cycler, joiner, namespace), and every render copies the
        # globals into a fresh context and checks them at each import.
        self.jinja.globals.clear()
        self.entry = self.wsgi_app
        if settings.TRUSTED_PROXIES:
            # Behind N proxies, the client is the N-th address from the right
            # of X-Forwarded-For. Trusting more than really exist would let a
            # client pick its own IP and dodge the rate limits.
            n = settings.TRUSTED_PROXIES
            self.entry = plain_prefix_only(ProxyFix(self.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n))

    # -- helpers the views use -------------------------------------------

    def page_urls(self, request) -> PageURLs:
        """Return the URLs that depend only on the mount point: urls.home, ..., urls.static['style.css']."""
        # Every page without arguments and every static file: the same for
        # each request under one SCRIPT_NAME, so built from the Map once per
        # mount point. Templates read them as urls.home; a URL with values
        # (a token) is built by the view with url_for and passed in.
        script_name = request.adapter.script_name
        urls = self._page_urls.get(script_name)
        if urls is None:
            if len(self._page_urls) >= 100:  # bounded, whatever SCRIPT_NAMEs arrive
                self._page_urls.clear()
            pages = {rule.endpoint: request.adapter.build(rule.endpoint)
                     for rule in self.url_map.iter_rules() if not rule.arguments}
            files = {name: request.adapter.build("static", {"filename": hashed})
                     for name, hashed in self.static_files.hashed.items()}
            urls = self._page_urls[script_name] = PageURLs(static=files, **pages)
        return urls

    def url_for(self, request, endpoint, **values):
        """Build a URL from the Map (mount-aware: it includes SCRIPT_NAME)."""
        if values:
            return request.adapter.build(endpoint, values)
        return self.page_urls(request)[endpoint]

    def external_url(self, request, endpoint, **values):
        """Build an absolute URL for a link in an email: from WSGIAUTH_BASE_URL, else from this request."""
        if self.base_adapter is not None:
            return self.base_adapter.build(endpoint, values, force_external=True)
        # Development only: the host comes from the request, which the client
        # controls (OWASP Forgot Password Cheat Sheet: never trust the Host
        # header for reset links). load_settings() refuses real mail without
        # BASE_URL, so such a link can only reach a development outbox.
        return request.adapter.build(endpoint, values, force_external=True)

    def redirect_to(self, request, endpoint, **values):
        """Answer with a 303 See Other to an endpoint (a POST becomes a GET)."""
        return redirect(self.url_for(request, endpoint, **values), code=303)

    def render(self, request, template, status=200, shared=False, **context):
        """Render a template inside the site layout and return the Response (shared: a page for every visitor)."""
        session = request.session
        user = session.user if session else None
        endpoint = getattr(request.url_rule, "endpoint", None)
        # One-shot notices ("Your name has been updated.") are used up by
        # the page that shows them, never by an error page in between;
        # the request cycle forgets them once the page is made.
        notices = self.notices.take(session) if session and status == 200 else []
        if getattr(request, "expired", False):  # the gate's Request has no such attribute
            notices = [FORM_EXPIRED, *notices]
        if shared and status == 200 and session is not None and user is None and not notices:
            html = self.shared_page(request, template, endpoint, context)
        else:
            context.update(request=request, user=user, endpoint=endpoint, urls=self.page_urls(request),
                           csrf_token=CSRFToken(self.sessions, session), notices=notices)
            html = self.jinja.get_template(template).render(context)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def shared_page(self, request, template, endpoint, values) -> bytes:
        """Return the page every anonymous visitor under this mount point sees, with this browser's CSRF token."""
        # ASVS 5.0 14.2.2: what is kept holds no user data and no session
        # state: render() comes here only without a signed-in user, a notice,
        # an expired form or an error status, and the view opts in only with
        # values that are the same for everyone (no query values, no errors).
        # The token is per browser, so it is never kept: the page is made once
        # with a random marker in its place (self._token_marker, unguessable,
        # so no page holds it by chance) and each request splices in its own.
        script_name = request.adapter.script_name
        # repr(values): the view's call site fixes their order; a value the
        # same for everyone has the same repr (plain str, bool, dict, None).
        key = (template, script_name, endpoint, repr(values))
        parts = self._shared_pages.get(key)
        if parts is None:
            if len(self._shared_pages) >= 100:  # bounded, whatever SCRIPT_NAMEs arrive
                self._shared_pages.clear()
            # No `request`: nothing of the first visitor's request can reach the kept page.
            context = dict(values, user=None, endpoint=endpoint, urls=self.page_urls(request),
                           csrf_token=self._token_marker, notices=[])
            # Kept as UTF-8 bytes: the Response then has nothing to encode (~1.4 µs a page).
            parts = self._shared_pages[key] = tuple(self.jinja.get_template(template).render(context).encode()
                                                    .split(self._token_marker.encode("ascii")))
        if len(parts) == 1:  # no form on the page: no token, so no session cookie either
            return parts[0]
        return self.sessions.csrf_token(request.session).encode("ascii").join(parts)

    # -- the request cycle ------------------------------------------------

    def check_csrf(self, request):
        """Refuse a state-changing request from another site, or without this browser's CSRF token."""
        if request.method not in UNSAFE_METHODS:
            return
        # Defence in depth on top of the token (OWASP CSRF Cheat Sheet):
        # browsers send Origin with every POST, and a page of another site
        # cannot forge it. Requests without one (old browsers, scripts) still
        # need the token. request.scheme and request.host are the public ones
        # when ProxyFix trusts the proxy's X-Forwarded-Proto/-Host.
        origin = request.headers.get("Origin")
        if origin == "null" and request.headers.get("Sec-Fetch-Site") == "same-origin":
            # A form on a page sent with Referrer-Policy: no-referrer (the
            # pages behind email links) posts with "Origin: null" (Fetch
            # standard). Sec-Fetch-Site, which no page can set, says it came
            # from our own origin; a sandboxed frame of another site says "cross-site".
            origin = None
        # Each refusal is logged (ASVS 5.0 16.3.3: attempts to bypass a
        # control), with the route's pattern, never the path, the token or a cookie.
        rule = request.url_rule.rule
        if origin is not None and origin_of(origin) != origin_of(f"{request.scheme}://{request.host}"):
            log.warning("403 for %s %s: a form from another origin, %r", request.method, rule, origin[:100])
            raise CrossOriginError()
        # No cookie means no session the token could be tied to: the form was
        # not loaded in this browser, or the cookie expired meanwhile.
        session = request.session
        if not session.has_cookie or not self.sessions.csrf_valid(session, request.form.get("csrf_token", "")):
            log.warning("400 for %s %s: CSRF token missing, expired or wrong (session cookie sent: %s)",
                        request.method, rule, "yes" if session.has_cookie else "no")
            raise CSRFError()

    def load_session(self, request, query="session_user") -> None:
        """Read the browser's session (by the lookup query) and notice cookies into request.session."""
        request.session = self.sessions.load(self.db, request, query)
        if query != IDENTITY_LOOKUP:  # who is signed in, for a proxy: no page, so no notice
            self.notices.read_cookie(request.session, request.cookies.get(self.sessions.notice_cookie_name))

    def dispatch_request(self, request):
        """Route the request to its view, behind the sign-in gate; turn HTTP errors into pages."""
        try:
            request.url_rule, values = request.adapter.match(return_rule=True)
            endpoint = request.url_rule.endpoint
            if endpoint == "static":  # files need no session
                return VIEWS[endpoint](self, request, **values)
            self.load_session(request, session_lookup(endpoint))
            try:
                self.check_csrf(request)
            except CSRFError:
                if endpoint not in SHOWN_AGAIN:
                    raise
                endpoint = self.show_form_again(request, endpoint, values)
            if endpoint not in PUBLIC and not request.session.user:
                # The sign-in gate, default deny (routes.PUBLIC): every page
                # needs a signed-in user unless declared public, checked on
                # the server for every request (ASVS 4.1.1). A page (GET) is
                # shown again after signing in; a form's POST is not replayed.
                return self.redirect_to(request, "signin", next=here(request) if request.method == "GET" else None)
            self.authorize(request, endpoint)
            if endpoint in self.confirmed_endpoints:
                # The second gate, as default as the first: sensitive pages
                # and changes need access confirmed recently (views/access.py).
                refusal = access.required(self, request, endpoint, self.confirmed_endpoints[endpoint])
                if refusal is not None:
                    return refusal
            response = self.call_view(request, endpoint, values)
            if request.expired and response.status_code == 200:
                # 400, not 200: nothing was done with what was sent, and a
                # script, a log or a monitor counting refused forms sees it
                # as before; browsers show the page (with the form) all the same.
                response.status_code = 400
            return response
        except HTTPException as error:
            if error.code < 400:  # e.g. Werkzeug's redirect to the slash-ending URL
                try:
                    return error.get_response(request.environ)
                except ValueError:
                    # Its Location repeats the query string, and a raw line
                    # break there (no browser sends one) fits no header: a
                    # 500 (found by the fuzz test, issue 15). ASVS 5.0 1.2.1.
                    return self.error_page(request, BadRequest())
            return self.error_page(request, error)

    def show_form_again(self, request, endpoint, values):
        """Turn a POST whose CSRF token expired into the GET of its form's page; return that page's endpoint."""
        # Issue 17: the page the form is on (routes.SHOWN_AGAIN), with what
        # was typed into the fields that may be refilled (never a secret),
        # a fresh token and the notice FORM_EXPIRED. The form's POST logic
        # never runs: the request goes on as the page's GET, through the
        # same gates (a session that is gone means signing in first).
        page, fields = SHOWN_AGAIN[endpoint]
        request.refill = {name: request.form.get(name, "") for name in fields}
        request.expired = True
        request.method = "GET"
        request.url_rule = next(rule for rule in self.url_map.iter_rules(page) if "GET" in rule.methods)
        # `next` after signing in or confirming access is the page, not the form's URL.
        request.path = request.adapter.build(page, values)[len(request.root_path):]
        lookup = session_lookup(page)
        if lookup != session_lookup(endpoint):
            # The page reads its own rows with its session lookup (the
            # Security page's lists): read again, as that page's GET would.
            self.load_session(request, lookup)
        return page

    def authorize(self, request, endpoint):
        """Raise NotInGroup (403) unless the user is in the endpoint's group; SecondFactorNeeded if one is due."""
        # Before Confirm access: a user who may not use the page is told so
        # at once, not asked for a password first. Groups come from the
        # session's row, read on this request: a removal takes effect on
        # the member's very next request.
        group = GROUP_ONLY.get(endpoint)
        if group is not None and group not in request.session.user["groups"]:
            # ASVS 5.0 16.3.2: a refused authorization is logged (the rule,
            # never the path: it may carry a value the user chose).
            log.warning("403 for uid=%s on %s %s: not in the group %s", request.session.user["uid"],
                        request.method, getattr(request.url_rule, "rule", "?"), group)
            raise NotInGroup()
        if endpoint not in PUBLIC and endpoint not in SECOND_FACTOR_SETUP and self.second_factor_missing(
                request, request.session.user, getattr(request.url_rule, "rule", "?")):
            raise SecondFactorNeeded(self.url_for(request, "security"))

    def second_factor_required(self, user) -> bool:
        """Say whether WSGIAUTH_REQUIRE_SECOND_FACTOR covers user (a mapping with its "groups"); no query."""
        scope = self.second_factor_scope
        return scope is not None and (scope == "*" or not scope.isdisjoint(user["groups"]))

    def second_factors(self, uid) -> int:
        """Return how many second factors the account has: its authenticator app and its usable passkeys."""
        row = self.db.one("second_factors_of_user", uid=uid)
        # Passkeys sign in only while they are offered (the fido2 extra, BASE_URL).
        return row["apps"] + (row["passkeys"] if self.passkeys is not None else 0)

    def needs_second_factor(self, user) -> bool:
        """Say whether user must have a second factor and has none: nothing to ask while the setting is off."""
        return self.second_factor_required(user) and self.second_factors(user["uid"]) == 0

    def may_remove_second_factor(self, user) -> bool:
        """Say whether user may remove one of their second factors: never the last while one is required."""
        return not self.second_factor_required(user) or self.second_factors(user["uid"]) > 1

    def second_factor_missing(self, request, user, rule) -> bool:
        """The second-factor gate (ASVS 5.0 6.3.3): say whether user must be refused rule; log and record it if so."""
        # One place for wsgiauth's pages (authorize), /auth/verify and the
        # gate in front of a host app. While the setting is off this is one
        # comparison; on, one indexed query for an account it covers.
        if not self.needs_second_factor(user):
            return False
        # ASVS 5.0 16.3.2: a refused authorization is logged (the rule, never the path).
        log.warning("second factor required for uid=%s on %s %s: it has none yet", user["uid"], request.method, rule)
        self.db.transaction(lambda tx: audit.record(self, tx, request, "second_factor_required", uid=user["uid"],
                                                    detail=rule))
        return True

    def call_view(self, request, endpoint, values):
        """Run the view of endpoint for this request, with the URL's values."""
        return VIEWS[endpoint](self, request, **values)

    def error_page(self, request, error):
        """Render an HTTP error in the site layout, keeping its status and headers."""
        if request.session is None:  # e.g. a 404: still show the right nav
            self.load_session(request)
        response = self.render(request, "error.html", status=error.code, error=error)
        for name, value in error.get_headers(request.environ):
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def unavailable_page(self, request, error):
        """Answer 503 when the database cannot be reached: a clear page, nothing changed, try again later."""
        log.warning("503 for %s %s: %s", request.method, getattr(request.url_rule, "rule", "?"), error)
        request.session = None  # nothing of it can be read or saved now
        unavailable = ServiceUnavailable("We can't reach our database right now. Please try again in a minute.",
                                         retry_after=30)
        response = self.render(request, "error.html", status=503, error=unavailable)
        response.headers["Retry-After"] = "30"
        return response

    def crash_page(self, request):
        """Answer an unexpected exception with a plain 500 page; the traceback goes to the log."""
        # The rule pattern (e.g. /reset/<token>) is logged, not the path, so a
        # token in a URL never reaches the log.
        rule = getattr(request.url_rule, "rule", "?")
        log.exception("Unhandled error in %s %s", request.method, rule)
        try:
            return self.render(request, "error.html", status=500, error=InternalServerError())
        except Exception:
            log.exception("The error page itself failed")
            return Response("Internal Server Error", status=500, content_type="text/plain; charset=utf-8")

    @staticmethod
    def buffer_unsized_body(environ, limit: int) -> bool:
        """Read a body sent without Content-Length (chunked) into memory, up to limit bytes; say if it was longer."""
        # Werkzeug would read such a body only up to the limit and parse
        # what it got: a 50 MB form went on, cut at 1 MiB (issue 14). The
        # server says the stream ends (wsgi.input_terminated), so reading
        # one byte past the limit tells a body that fits from one that does
        # not, and never holds more than limit + 1 bytes.
        if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated") \
                or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return False
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return True
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return False

    def wsgi_app(self, environ, start_response):
        """Handle one request from start to finish."""
        too_large = self.buffer_unsized_body(environ, self.settings.MAX_CONTENT_LENGTH)
        # Not stored back into environ["werkzeug.request"]: that makes a cycle
        # (request -> environ -> request), so every request, with its session
        # and form data, would wait for the garbage collector instead of
        # being freed as soon as the response is sent.
        request = Request(environ, populate_request=False)
        request.max_content_length = self.settings.MAX_CONTENT_LENGTH
        request.url_rule = None
        bad_host = None
        try:
            request.adapter = self.url_map.bind_to_environ(environ)
        except BadHost as error:
            # A Host header that is no host name ("a..b", a label over 63
            # characters) cannot be IDNA-encoded. The 400 page still needs
            # URLs; the relative ones it uses do not depend on the host.
            bad_host = error
            request.adapter = self.url_map.bind("invalid", script_name=request.script_root or "/",
                                                url_scheme=request.scheme, path_info=request.path)
        try:
            if bad_host:
                response = self.error_page(request, bad_host)
            # 413 straight from the Content-Length header: the body is never
            # read, so a huge upload costs no memory or time.
            elif too_large or (request.content_length or 0) > self.settings.MAX_CONTENT_LENGTH:
                response = self.error_page(request, RequestEntityTooLarge())
            else:
                response = self.dispatch_request(request)
            if request.session is not None:
                self.notices.forget_shown(self.db, request.session)
                self.sessions.save(request, response, request.session)
        except DatabaseUnavailable as error:
            response = self.unavailable_page(request, error)
        except Exception as error:
            if is_fault(error):
                # The database failed under this request (its transaction
                # was rolled back, a broken connection dropped from the
                # pool): 503, one log line, and the next request starts afresh.
                response = self.unavailable_page(request, error)
            else:
                response = self.crash_page(request)
        self.add_headers(request, response)
        return response(environ, start_response)

    def add_headers(self, request, response):
        """Add the security and caching headers every response carries."""
        if "token" in getattr(request.url_rule, "arguments", ()):
            # The URL holds a token from an email (/reset/<token>, ...): the
            # browser must not pass it on in a Referer header, not even to our
            # own stylesheet, whose request may reach an access log (OWASP
            # Forgot Password Cheat Sheet). Every answer on such a URL: the
            # page, its form's errors, the redirect after it, an error page.
            response.headers["Referrer-Policy"] = "no-referrer"
        # A view's own value wins (setdefault semantics); one pass over the
        # response's few headers is ~3x cheaper than a search per header.
        present = {name.lower() for name, _ in response.headers.items()}
        headers = SECURITY_HEADERS if response.mimetype == "text/html" else NOT_A_PAGE_HEADERS
        for name, value in headers.items():
            if name.lower() not in present:
                response.headers.add(name, value)
        if self.settings.SECURE_COOKIES and "strict-transport-security" not in present:
            response.headers.add("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if getattr(request.url_rule, "endpoint", None) != "static":
            # Pages carry the user's data or a CSRF token: never store them,
            # so Back after sign-out cannot show a signed-in page (ASVS 8.2.1).
            response.headers["Cache-Control"] = "no-store"

    def __call__(self, environ, start_response):
        return self.entry(environ, start_response)
