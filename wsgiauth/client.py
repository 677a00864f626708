"""What a request tells about its client: the IP address and the browser, cleaned for storing."""

import functools
import ipaddress
import re
import string
import unicodedata

# The database columns' sizes (sessions and security_events).
IP_MAX = 45  # the longest textual IPv6 address
AGENT_MAX = 200

# Characters an IPv4 or IPv6 address (with a zone id) can contain.
_IP_CHARS = frozenset(string.ascii_letters + string.digits + ":.%-_")

# (pattern, name) pairs, first match wins: Edge and Opera say "Chrome" too,
# and Chrome says "Safari", so the more specific names come first.
_BROWSERS = [(re.compile(pattern), name) for pattern, name in [
    (r"Edg(e|A|iOS)?/", "Edge"), (r"OPR/|Opera", "Opera"), (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"), (r"Safari/", "Safari"), (r"curl/", "curl")]]
_SYSTEMS = [(re.compile(pattern), name) for pattern, name in [
    (r"Android", "Android"), (r"iPhone|iPad|iPod", "iOS"), (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"), (r"CrOS", "ChromeOS"), (r"Linux", "Linux")]]


def ip(request) -> str:
    """Return the client's IP address as the app sees it."""
    # request.remote_addr is REMOTE_ADDR, or, with WSGIAUTH_TRUSTED_PROXIES=N,
    # the address ProxyFix took from X-Forwarded-For (app.py). Anything odd is
    # masked so it fits the ASCII column and cannot smuggle markup or newlines.
    raw = request.remote_addr or ""
    return "".join(ch if ch in _IP_CHARS else "?" for ch in raw)[:IP_MAX]


def agent(request) -> str:
    """Return the User-Agent header without control characters, cut to the column size."""
    # No line breaks reach the log or the profile page (log injection).
    raw = request.headers.get("User-Agent", "")
    return "".join(ch for ch in raw if unicodedata.category(ch) != "Cc")[:AGENT_MAX]


# A user has few browsers, and the profile names each on every visit: the
# answers are kept (bounded; agents are cut to AGENT_MAX characters when stored).
@functools.lru_cache(maxsize=256)
def describe_agent(user_agent: str) -> str:
    """Return a short human name for a User-Agent string, e.g. "Firefox on Linux"."""
    browser = next((name for pattern, name in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for pattern, name in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    return user_agent[:60] or "Unknown browser"


def network(address: str) -> str:
    """Return the network an address belongs to for "is this a new place?": its /24 (IPv4) or /48 (IPv6)."""
    # A home or office keeps its network while its last digits change (DHCP,
    # IPv6 privacy addresses); anything unparseable is compared whole.
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{parsed}/{24 if parsed.version == 4 else 48}", strict=False))


def is_new_place(places, address: str, user_agent: str) -> bool:
    """Say whether neither this browser (by name) on this network appears among places (rows of ip, user_agent)."""
    here = (network(address), describe_agent(user_agent))
    return all((network(row["ip"] or ""), describe_agent(row["user_agent"] or "")) != here for row in places)
