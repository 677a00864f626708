"""The gate: wsgiauth in front of another WSGI app, which learns who is signed in from its environ.

    import wsgiauth
    application = wsgiauth.gate(host_app, protect=["/reports/*"], groups={"/finance": "finance"})

Requests under the mount point (default /accounts) are wsgiauth's pages; every other request
goes to the host app with REMOTE_USER (the PEP 3333 / CGI convention every framework reads) and
environ["wsgiauth.user"] set when a browser is signed in, and absent otherwise. Protected paths
need a signed-in user; paths given a group, a signed-in member of that group.
"""

import fnmatch
import logging
from types import MappingProxyType
from urllib.parse import quote

from werkzeug.exceptions import Forbidden, HTTPException
from werkzeug.wrappers import Request, Response

from .accounts import GROUP_NAME, GROUP_NAME_RULE
from .db import DatabaseUnavailable
from .routes import IDENTITY_LOOKUP
from .views.forward_auth import SECOND_FACTOR_FIRST

log = logging.getLogger("wsgiauth.gate")

# What a client could send to pose as someone: request headers that some
# frameworks or proxies read as identity, and the keys the gate sets itself.
# The host app never sees them from the client (security review practice:
# identity comes from the server side only).
FORGEABLE = ("REMOTE_USER", "HTTP_REMOTE_USER", "HTTP_X_REMOTE_USER", "HTTP_X_FORWARDED_USER", "HTTP_REMOTE_EMAIL",
             "HTTP_REMOTE_NAME", "HTTP_REMOTE_GROUPS", "HTTP_X_AUTH_REQUEST_USER", "HTTP_X_AUTH_REQUEST_EMAIL",
             "wsgiauth.user", "wsgiauth.urls")


class Gate:
    """Serve wsgiauth under `mount` and every other request by the host app, telling it who is signed in."""

    def __init__(self, host, accounts, mount: str = "/accounts", protect=(), groups=None):
        if not mount.startswith("/") or mount.endswith("/") or "//" in mount:
            raise ValueError(f"the gate's mount point must look like /accounts, not {mount!r}")
        self.host = host
        self.accounts = accounts  # the WSGIAuth app (create_app)
        self.mount = mount
        self.protect = tuple(protect)
        # Path pattern -> the group whose members alone may open it. A name
        # no group can have ("Finance") would refuse everyone, silently:
        # refused here instead, when the site starts.
        self.groups = tuple((groups or {}).items())
        for pattern, group in self.groups:
            if not isinstance(group, str) or not GROUP_NAME.fullmatch(group):
                raise ValueError(f"the gate's group for {pattern!r} must be a group name, not {group!r}: "
                                 + GROUP_NAME_RULE)

    def __call__(self, environ, start_response):
        """Route one request: to wsgiauth under the mount point, else to the host app with the user."""
        path = environ.get("PATH_INFO", "") or "/"
        root = environ.get("SCRIPT_NAME", "")
        if path == self.mount or path.startswith(self.mount + "/"):
            inner = dict(environ, SCRIPT_NAME=root + self.mount, PATH_INFO=path[len(self.mount):])
            inner["wsgiauth.gate"], inner["wsgiauth.gate_root"] = self, root
            return self.accounts(inner, start_response)
        for key in FORGEABLE:
            environ.pop(key, None)
        request = Request(environ, populate_request=False)
        try:
            user = self.signed_in_user(request)
        except DatabaseUnavailable:
            # Who is signed in cannot be known: neither let the host app
            # guess (a protected page would open) nor answer with a 500.
            return unavailable()(environ, start_response)
        here = path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        signin = f"{root}{self.mount}/signin?next={quote(here, safe='/')}"
        environ["wsgiauth.urls"] = MappingProxyType({
            "signin": signin, "signout": f"{root}{self.mount}/signout", "profile": f"{root}{self.mount}/profile",
            "account": f"{root}{self.mount}/account"})
        needs = self.groups_for(path)
        if user is not None and self.accounts.needs_second_factor(user):
            # ASVS 5.0 6.3.3 (WSGIAUTH_REQUIRE_SECOND_FACTOR): until the
            # account has a second factor, the host app does not learn who it
            # is, and a page that needs a user sends it to set one up.
            if needs or self.protects(path):
                rule = needs[0][0] if needs else next(pattern for pattern in self.protect if covers(pattern, path))
                self.accounts.second_factor_missing(request, user, rule)
                return set_up_first(request, f"{root}{self.mount}/security")(environ, start_response)
            user = None
        if user is None:
            if needs or self.protects(path):
                return refuse(request, signin)(environ, start_response)
        else:
            # Checked on every request from the session's row (ASVS 5.0
            # 8.2.1, 8.3.1: on the server, per request), so a member taken
            # out of a group is refused on their very next request.
            missing = [(pattern, group) for pattern, group in needs if group not in user["groups"]]
            if missing:
                pattern, group = missing[0]
                # ASVS 5.0 16.3.2: a refused authorization is logged, with
                # the gate's pattern, never the path (a value the user chose).
                log.warning("403 for uid=%s on %s %s: not in the group %s", user["uid"], request.method, pattern,
                            group)
                return self.not_a_member(request, environ, root, group)(environ, start_response)
            environ["REMOTE_USER"] = user["email"]
            environ["wsgiauth.user"] = user
        return self.host(environ, start_response)

    def signed_in_user(self, request):
        """Return a read-only mapping of the signed-in user, or None: the same rules as wsgiauth's own pages."""
        # One indexed lookup, with the session's expiry, idle timeout and
        # revocation rules (ASVS 3.3.1): a session ended anywhere is refused
        # on the very next host request.
        # session_identity: the columns the host app gets, and no more; on
        # MariaDB each column of a result costs PyMySQL ~10 us to describe,
        # a third of the gate's time with the pages' ten (bench/host.py).
        request.session = self.accounts.sessions.load(self.accounts.db, request, query=IDENTITY_LOOKUP)
        row = request.session.user
        if row is None:
            return None
        # Session has made row["groups"] the sorted tuple of names already.
        return MappingProxyType({"uid": row["uid"], "email": row["email"], "firstname": row["firstname"],
                                 "lastname": row["lastname"], "confirmed": row["confirmed_at"] is not None,
                                 "groups": row["groups"]})

    def protects(self, path: str) -> bool:
        """Say whether path needs a signed-in user (one of the protect patterns covers it)."""
        return any(covers(pattern, path) for pattern in self.protect)

    def groups_for(self, path: str) -> list:
        """Return the (pattern, group) pairs whose pattern covers path: its user must be in each group."""
        return [(pattern, group) for pattern, group in self.groups if covers(pattern, path)]

    def not_a_member(self, request, environ, root, group):
        """Answer 403 to a signed-in user who is not in the group a page needs: a page for a browser, else text."""
        refusal = NotAMember(group)
        if "text/html" not in request.headers.get("Accept", ""):
            return Response(refusal.description + "\n", status=403, content_type="text/plain; charset=utf-8",
                            headers={"Cache-Control": "no-store"})
        # wsgiauth's own error page, with its layout and links, as if it
        # were served under the mount point: the host app has no page of
        # ours to show, and this keeps one look for the whole site.
        accounts = self.accounts
        page = Request(dict(environ, SCRIPT_NAME=root + self.mount, PATH_INFO="/"), populate_request=False)
        page.adapter = accounts.url_map.bind("gate", script_name=root + self.mount)
        page.url_rule = None
        page.session = request.session
        response = accounts.render(page, "error.html", status=403, error=refusal)
        accounts.add_headers(page, response)
        return response

    def serves(self, path: str, accounts_adapter) -> bool:
        """Say whether path (from the gate's root) is a page a browser may be sent to after sign-in."""
        if path == self.mount or path.startswith(self.mount + "/"):
            try:
                endpoint, _ = accounts_adapter.match(path[len(self.mount):], method="GET")
            except HTTPException:  # 404, 405 or a redirect: not a page to land on
                return False
            return endpoint != "static"
        return True  # the host app's pages: all of the site outside the mount point


def covers(pattern: str, path: str) -> bool:
    """Say whether a gate pattern covers path: "/reports" covers /reports and /reports/...; "*" patterns glob."""
    if "*" in pattern or "?" in pattern or "[" in pattern:
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern.rstrip("/") + "/")


class NotAMember(Forbidden):
    """A signed-in user asked for a host page that only a group's members may open."""

    def __init__(self, group: str):
        super().__init__(f"This page is for members of the group {group}. If you need it, ask an "
                         "administrator to add you.")


def unavailable():
    """Answer 503 when the database that knows who is signed in cannot be reached."""
    return Response("We can't reach our accounts database right now. Please try again in a minute.\n",
                    status=503, content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "30", "Cache-Control": "no-store"})


def set_up_first(request, security):
    """Answer a request for a protected page from an account that must set up a second factor: 303 or 403 text."""
    if "text/html" in request.headers.get("Accept", ""):
        response = Response(status=303, headers={"Location": security})
    else:
        response = Response(SECOND_FACTOR_FIRST + security + "\n", status=403,
                            content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(request, signin):
    """Answer a signed-out request for a protected page: a browser goes to sign in, a program gets 401."""
    if "text/html" in request.headers.get("Accept", ""):
        response = Response(status=303, headers={"Location": signin})
    else:
        # Scripts and API clients cannot follow a sign-in form; 401 tells
        # them what happened (RFC 9110 asks for a WWW-Authenticate header).
        response = Response("Sign in first.\n", status=401, content_type="text/plain; charset=utf-8",
                            headers={"WWW-Authenticate": 'Cookie realm="wsgiauth"'})
    response.headers["Cache-Control"] = "no-store"
    return response

