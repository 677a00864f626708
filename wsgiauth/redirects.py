"""Where to go after sign-in: only a path on this site, never one an attacker chose elsewhere."""

import unicodedata
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException

# Longer "next" values are refused outright: no page here needs one.
NEXT_MAX = 1000


def local_path(request, value):
    """Return value if it is a path of a page on this site, else None (ASVS 5.1.5: no open redirect)."""
    if not value or len(value) > NEXT_MAX:
        return None
    # Browsers drop tabs and newlines inside URLs and read "\" as "/", so
    # "/\tevil.example" or "/\\evil.example" would become "//evil.example", a
    # link to another site. Refuse them rather than try to clean them.
    if any(ch.isspace() or ch == "\\" or unicodedata.category(ch) == "Cc" for ch in value):
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


def location(request, path):
    """Return the Location for a checked local path, inside the app's mount point (or the gate's root)."""
    if "wsgiauth.gate" in request.environ:
        return request.environ["wsgiauth.gate_root"] + path
    return request.script_root + path


def here(request):
    """Return this page as a `next` value: its path in the app, or from the gate's root behind the gate."""
    gate = request.environ.get("wsgiauth.gate")
    return gate.mount + request.path if gate is not None else request.path
