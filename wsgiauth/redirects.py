"""Where to go after sign-in: a page of this site, or of an application the operator listed; never elsewhere."""

import unicodedata
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException

# Longer "next" values are refused outright: no page here needs one.
NEXT_MAX = 1000

# Ports browsers leave out of an origin.
DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def origin_of(url: str) -> str:
    """Return scheme://host[:port] in lower case, without the scheme's default port."""
    url = url.strip().lower()
    scheme = url.split("://", 1)[0]
    port = DEFAULT_PORTS.get(scheme)
    return url[: -len(port)] if port and url.endswith(port) else url


def plain(value) -> bool:
    """Say whether value is a non-empty, not too long string that browsers read as it is written."""
    # Browsers drop tabs and newlines inside URLs and read "\" as "/", so
    # "/\tevil.example" or "/\\evil.example" would become "//evil.example", a
    # link to another site. Refuse them rather than try to clean them.
    return bool(value) and len(value) <= NEXT_MAX and not any(
        ch.isspace() or ch == "\\" or unicodedata.category(ch) == "Cc" for ch in value)


def local_path(request, value):
    """Return value if it is a path of a page on this site, else None (ASVS 5.1.5: no open redirect)."""
    if not plain(value):
        return None
    # One leading "/" and no second: "//evil.example" is another host.
    if not value.startswith("/") or value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    gate = request.environ.get("wsgiauth.gate")
    if gate is not None:
        # Behind the gate (gate.py), `next` is a path from the gate's root:
        # the host app's pages, or ours under the mount point.
        return value if gate.serves(parts.path, request.adapter) else None
    # An allow list, not just a shape check: the path must be a page of our
    # own URL map that answers GET (the stylesheet does not count).
    try:
        endpoint, _ = request.adapter.match(parts.path, method="GET")
    except HTTPException:  # 404, 405, or a redirect to a canonical URL
        return None
    return value if endpoint != "static" else None


def listed_url(value, origins):
    """Return value if it is an absolute http(s) URL on one of origins, else None (ASVS 5.1.5: no open redirect)."""
    # Forward authentication (views/forward_auth.py): after sign-in the
    # browser goes back to the application it asked for, on an origin the
    # operator listed in WSGIAUTH_FORWARD_AUTH_HOSTS. Only printable ASCII
    # (browsers send URLs percent-encoded): no look-alike letters, nothing a
    # browser would read differently from urlsplit.
    if not origins or not plain(value) or not value.isascii():
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        return None
    # No user name ("https://app.example@evil.example" goes to evil.example),
    # no fragment (as for local paths), and the origin itself, compared
    # whole: "app.example.evil.example" or another scheme or port is not it.
    if parts.scheme not in DEFAULT_PORTS or "@" in parts.netloc or parts.fragment:
        return None
    return value if origin_of(f"{parts.scheme}://{parts.netloc}") in origins else None


def safe_next(request, value, origins):
    """Return value if the browser may be sent there after sign-in: a page of ours, or a URL on a listed origin."""
    return local_path(request, value) or listed_url(value, origins)


def location(request, target):
    """Return the Location of a target safe_next accepted: ours under the mount point (or gate root), a URL as is."""
    if not target.startswith("/"):
        return target
    if "wsgiauth.gate" in request.environ:
        return request.environ["wsgiauth.gate_root"] + target
    return request.script_root + target


def here(request):
    """Return this page as a `next` value: its path and query in the app, or from the gate's root behind the gate."""
    # The query too: a search or a filtered list (/admin?q=ada, the audit
    # CSV's filters) comes back as it was after signing in or confirming
    # access. It is checked like any `next` (local_path) when followed.
    page = request.path
    if request.query_string:
        page += "?" + request.query_string.decode("utf-8", "replace")
    gate = request.environ.get("wsgiauth.gate")
    return gate.mount + page if gate is not None else page
