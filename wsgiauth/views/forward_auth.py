"""Forward authentication: GET /auth/verify, which a reverse proxy asks before it passes a request on."""

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from ..redirects import listed_url

# Requests whose URL may be opened again after sign-in, as the sign-in gate
# does for our own pages: a page is shown again, a form's POST is not replayed.
REPLAYABLE = frozenset({"GET", "HEAD"})
# What a program is told when the account must set up a second factor first.
SECOND_FACTOR_FIRST = "This account must set up a second factor (an authenticator app or a passkey) first: "


def verify(app, request):
    """Answer 200 with who is signed in, else 401; with ?redirect=1, a redirect to sign in instead of the 401."""
    # Read-only: the session is loaded as for any page (last_seen written at
    # most once a minute), nothing else is written, and no cookie is sent.
    # A GET with no form, so no CSRF token (ASVS 4.2.2 covers changes).
    user = request.session.user
    if user and app.second_factor_missing(request, user, "/auth/verify"):
        return set_up_second_factor(app, request)
    if user:
        return Response(status=200, headers=identity_headers(user))
    signin_url, replayable = signin_url_for(app, request)
    if signin_url and request.args.get("redirect") == "1":
        # Caddy's forward_auth and Traefik's ForwardAuth hand this answer to
        # the browser: a 302 keeps a GET a GET, a 303 turns a POST into one.
        return redirect(signin_url, code=302 if replayable else 303)
    # nginx's auth_request passes on only 2xx, 401 and 403: it reads the
    # sign-in URL from Location and redirects itself (README).
    response = Response("Sign in required.\n", status=401, content_type="text/plain; charset=utf-8")
    if signin_url:
        response.headers["Location"] = signin_url
    return response


def set_up_second_factor(app, request):
    """Answer a signed-in user who must set up a second factor first: 403 text, or with ?redirect=1 the way there."""
    # ASVS 5.0 6.3.3 (WSGIAUTH_REQUIRE_SECOND_FACTOR): no identity goes to
    # the application behind the proxy until the account has one.
    security = app.external_url(request, "security")
    if request.args.get("redirect") == "1":
        return redirect(security, code=303)
    return Response(SECOND_FACTOR_FIRST + security + "\n", status=403, content_type="text/plain; charset=utf-8")


def identity_headers(user) -> dict:
    """Return the Remote-* headers that tell the application behind the proxy who is signed in."""
    name = f"{user['firstname']} {user['lastname']}"
    return {
        "Remote-User": user["email"],
        "Remote-Email": user["email"],
        # WSGI headers are Latin-1 strings: this sends the name's UTF-8 bytes,
        # as other forward-auth servers do ("Zoë", "Łukasz" arrive intact).
        "Remote-Name": name.encode("utf-8").decode("latin-1"),
        # The user's groups, comma-separated (no group name holds a comma:
        # accounts.GROUP_NAME). Sent even when empty, so that a proxy
        # copying the header replaces whatever a client sent under that name.
        "Remote-Groups": ",".join(user["groups"]),
    }


def signin_url_for(app, request):
    """Return (the sign-in page's URL with the way back, whether the request may be replayed), or (None, False)."""
    original = original_url(app, request)
    if original is None:
        return None, False
    replayable = request.headers.get("X-Forwarded-Method", "GET").upper() in REPLAYABLE
    # WSGIAUTH_BASE_URL (required with FORWARD_AUTH_HOSTS): the sign-in page
    # is at a fixed address, never one taken from this request's headers.
    return app.external_url(request, "signin", next=original if replayable else None), replayable


def original_url(app, request):
    """Return the URL the proxy was asked for, if a trusted proxy said so and it is on a listed origin; else None."""
    # Only from the proxies WSGIAUTH_TRUSTED_PROXIES trusts: without them the
    # X-Forwarded-* headers are the client's own words. ProxyFix has put the
    # proxy's X-Forwarded-Proto and -Host into request.scheme and .host.
    uri = request.headers.get("X-Forwarded-Uri", "")
    if not app.settings.TRUSTED_PROXIES or not uri.startswith("/"):
        return None
    # Only an origin the operator listed: a forged Host or X-Forwarded-Host
    # cannot turn the sign-in page into an open redirect (ASVS 5.1.5).
    return listed_url(f"{request.scheme}://{request.host}{uri}", app.forward_auth_origins)
