"""The WSGI application object: routing, sessions, CSRF, rendering and error pages."""

import functools
import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import redirect
from werkzeug.wrappers import Request as BaseRequest
from werkzeug.wrappers import Response

from .passwords import Passwords
from .routes import VIEWS, url_map
from .sessions import SessionStore

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
log = logging.getLogger("wsgiauth")

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


class Request(BaseRequest):
    """A Werkzeug request that also carries its URL adapter and Session."""

    urls = None  # werkzeug.routing.MapAdapter bound to this request
    session = None  # wsgiauth.sessions.Session


class CSRFError(BadRequest):
    """A state-changing request without the token of this browser's session."""

    description = "This form has expired. Please reload the page and try again."


class WSGIAuth:
    """One explicit application object; its __call__ is the WSGI entry point."""

    def __init__(self, settings, db):
        self.settings = settings
        self.db = db
        self.url_map = url_map()
        self._plain_urls = {}  # (SCRIPT_NAME, endpoint) -> URL; see url_for
        self.sessions = SessionStore(settings)
        self.passwords = Passwords(settings.PASSWORD_METHOD)
        # Templates are compiled once per process and kept (auto_reload off):
        # no stat() of template files on every request.
        self.jinja = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self.entry = self.wsgi_app
        if settings.TRUSTED_PROXIES:
            # Behind N proxies, the client is the N-th address from the right
            # of X-Forwarded-For. Trusting more than really exist would let a
            # client pick its own IP and dodge the rate limits.
            n = settings.TRUSTED_PROXIES
            self.entry = ProxyFix(self.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)

    # -- helpers the views use -------------------------------------------

    def url_for(self, request, endpoint, **values):
        """Build a URL from the Map (mount-aware: it includes SCRIPT_NAME)."""
        if values:
            return request.urls.build(endpoint, values)
        # A URL without arguments (every nav link) depends only on where the
        # app is mounted, so it is built once per SCRIPT_NAME, then looked up.
        key = (request.urls.script_name, endpoint)
        url = self._plain_urls.get(key)
        if url is None:
            if len(self._plain_urls) >= 100:  # bounded, whatever SCRIPT_NAMEs arrive
                self._plain_urls.clear()
            url = self._plain_urls[key] = request.urls.build(endpoint)
        return url

    def redirect_to(self, request, endpoint, **values):
        """Answer with a 303 See Other to an endpoint (a POST becomes a GET)."""
        return redirect(self.url_for(request, endpoint, **values), code=303)

    def render(self, request, template, status=200, **context):
        """Render a template inside the site layout and return the Response."""
        session = request.session
        context.update(
            request=request,
            user=session.user if session else None,
            endpoint=getattr(request.url_rule, "endpoint", None),
            url_for=functools.partial(self.url_for, request),
            csrf_token=lambda: self.sessions.csrf_token(session),
        )
        html = self.jinja.get_template(template).render(context)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    # -- the request cycle ------------------------------------------------

    def check_csrf(self, request):
        """Refuse a state-changing request that lacks this browser's CSRF token."""
        if request.method not in UNSAFE_METHODS:
            return
        # No cookie means no session the token could be tied to: the form was
        # not loaded in this browser, or the cookie expired meanwhile.
        session = request.session
        if not session.has_cookie or not self.sessions.csrf_valid(session, request.form.get("csrf_token", "")):
            raise CSRFError()

    def dispatch_request(self, request):
        """Route the request to its view; turn HTTP errors into pages."""
        try:
            request.url_rule, values = request.urls.match(return_rule=True)
            view = VIEWS[request.url_rule.endpoint]
            if request.url_rule.endpoint != "static":  # files need no session
                request.session = self.sessions.load(self.db, request)
                self.check_csrf(request)
            return view(self, request, **values)
        except HTTPException as error:
            if error.code < 400:  # e.g. Werkzeug's redirect to the slash-ending URL
                return error.get_response(request.environ)
            return self.error_page(request, error)

    def error_page(self, request, error):
        """Render an HTTP error in the site layout, keeping its status and headers."""
        if request.session is None:  # e.g. a 404: still show the right nav
            request.session = self.sessions.load(self.db, request)
        response = self.render(request, "error.html", status=error.code, error=error)
        for name, value in error.get_headers(request.environ):
            if name.lower() != "content-type":
                response.headers[name] = value
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

    def wsgi_app(self, environ, start_response):
        """Handle one request from start to finish."""
        # Not stored back into environ["werkzeug.request"]: that makes a cycle
        # (request -> environ -> request), so every request, with its session
        # and form data, would wait for the garbage collector instead of
        # being freed as soon as the response is sent.
        request = Request(environ, populate_request=False)
        request.max_content_length = self.settings.MAX_CONTENT_LENGTH
        request.url_rule = None
        request.urls = self.url_map.bind_to_environ(environ)
        try:
            # 413 straight from the Content-Length header: the body is never
            # read, so a huge upload costs no memory or time.
            if (request.content_length or 0) > self.settings.MAX_CONTENT_LENGTH:
                response = self.error_page(request, RequestEntityTooLarge())
            else:
                response = self.dispatch_request(request)
            if request.session is not None:
                self.sessions.save(request, response, request.session)
        except Exception:
            response = self.crash_page(request)
        self.add_headers(request, response)
        return response(environ, start_response)

    def add_headers(self, request, response):
        """Add the security and caching headers every response carries."""
        # A view's own value wins (setdefault semantics); one pass over the
        # response's few headers is ~3x cheaper than a search per header.
        present = {name.lower() for name, _ in response.headers.items()}
        for name, value in SECURITY_HEADERS.items():
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
