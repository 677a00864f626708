"""The gate: wsgiauth in front of another WSGI app, which learns who is signed in from its environ.

    import wsgiauth
    application = wsgiauth.gate(host_app, protect=["/reports/*"])

Requests under the mount point (default /accounts) are wsgiauth's pages; every other request
goes to the host app with REMOTE_USER (the PEP 3333 / CGI convention every framework reads) and
environ["wsgiauth.user"] set when a browser is signed in, and absent otherwise.
"""

import fnmatch
from types import MappingProxyType
from urllib.parse import quote

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from .accounts import group_names
from .db import DatabaseUnavailable

# What a client could send to pose as someone: request headers that some
# frameworks or proxies read as identity, and the keys the gate sets itself.
# The host app never sees them from the client (security review practice:
# identity comes from the server side only).
FORGEABLE = ("REMOTE_USER", "HTTP_REMOTE_USER", "HTTP_X_REMOTE_USER", "HTTP_X_FORWARDED_USER", "HTTP_REMOTE_EMAIL",
             "HTTP_REMOTE_NAME", "HTTP_REMOTE_GROUPS", "HTTP_X_AUTH_REQUEST_USER", "HTTP_X_AUTH_REQUEST_EMAIL",
             "wsgiauth.user", "wsgiauth.urls")


class Gate:
    """Serve wsgiauth under `mount` and every other request by the host app, telling it who is signed in."""

    def __init__(self, host, accounts, mount: str = "/accounts", protect=()):
        if not mount.startswith("/") or mount.endswith("/") or "//" in mount:
            raise ValueError(f"the gate's mount point must look like /accounts, not {mount!r}")
        self.host = host
        self.accounts = accounts  # the WSGIAuth app (create_app)
        self.mount = mount
        self.protect = tuple(protect)

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
        if user is None:
            if self.protects(path):
                return refuse(request, signin)(environ, start_response)
        else:
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
        row = self.accounts.sessions.load(self.accounts.db, request, query="session_identity").user
        if row is None:
            return None
        return MappingProxyType({"uid": row["uid"], "email": row["email"], "firstname": row["firstname"],
                                 "lastname": row["lastname"], "confirmed": row["confirmed_at"] is not None,
                                 "groups": group_names(row["groups"])})

    def protects(self, path: str) -> bool:
        """Say whether path needs a signed-in user: "/reports" covers /reports and /reports/...; "*" patterns glob."""
        for pattern in self.protect:
            if "*" in pattern or "?" in pattern or "[" in pattern:
                if fnmatch.fnmatchcase(path, pattern):
                    return True
            elif path == pattern or path.startswith(pattern.rstrip("/") + "/"):
                return True
        return False

    def serves(self, path: str, accounts_adapter) -> bool:
        """Say whether path (from the gate's root) is a page a browser may be sent to after sign-in."""
        if path == self.mount or path.startswith(self.mount + "/"):
            try:
                endpoint, _ = accounts_adapter.match(path[len(self.mount):], method="GET")
            except HTTPException:  # 404, 405 or a redirect: not a page to land on
                return False
            return endpoint != "static"
        return True  # the host app's pages: all of the site outside the mount point


def unavailable():
    """Answer 503 when the database that knows who is signed in cannot be reached."""
    return Response("We can't reach our accounts database right now. Please try again in a minute.\n",
                    status=503, content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "30", "Cache-Control": "no-store"})


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

