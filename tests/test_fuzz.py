"""The fuzz test of issue 14: ~10,000 generated requests to every URL and form; 0 x 5xx, the database intact.

Each test makes one app on a fresh SQLite database and sends it whole requests built by
hypothesis, as raw WSGI environs through werkzeug's test Client: any method, every path
of the Map (with good, damaged and foreign tokens), percent-escapes that are no UTF-8,
query strings, bodies of every content type (or of none, or a wrong one), fields that
are empty, huge, full of control characters or duplicated, good and broken cookies and
CSRF tokens, and hostile headers. Every answer must be under 500; afterwards the
database must pass SQLite's own checks and hold no half-written row (tests/queries.sql).
"""

import collections
import importlib.resources
import io
import itertools
import json
import random
import re
import sys
import time
import types
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from werkzeug.test import Client, run_wsgi_app
from werkzeug.wrappers import Request

from wsgiauth import accounts
from wsgiauth.gate import FORGEABLE, Gate
from wsgiauth.routes import CONFIRMED, url_map
from wsgiauth.tokens import CHANGE_EMAIL, CONFIRM_EMAIL, RESET_PASSWORD
from wsgiauth.views import access
from wsgiauth.views.contact import HONEYPOT

# How many examples each test runs; each example sends 1-7 generated requests
# (4 on average) after at most one request that signs in: about 10,000
# generated requests in all, in under a minute with coverage on a 2-core machine.
EXAMPLES = {"signed_out": 550, "signed_in": 550, "behind_a_proxy": 550, "behind_the_gate": 550}
REQUESTS_PER_EXAMPLE = (1, 7)
# Requests sent, by kind ("generated": built by hypothesis; "setup": signing
# in before them), for the summary line at the end of the module.
SENT = collections.Counter()

# Reproducible in CI: each test has its own fixed seed (fuzz()), and there is
# no example database, so every run sends the same requests. No shrinking:
# an example depends on the database the ones before it left and on its
# requests' numbers, so a smaller one proves nothing; a failure's message
# has the whole request, and those sent before it in its example.
FUZZ_SETTINGS = settings(
    deadline=None, database=None, print_blob=False, phases=[Phase.explicit, Phase.generate],
    # It times the drawing of the first examples: a busy CI machine must not fail the run.
    suppress_health_check=[HealthCheck.too_slow],
)

# -- What there is to fuzz: every URL rule, every form field --------------

# Every rule; those with a form twice, as there is more behind them.
RULES = sorted(rule.rule for rule in url_map().iter_rules() for _ in range(2 if "POST" in rule.methods else 1))


def form_fields() -> list:
    """Return the name of every field a template's form posts, and the Contact page's honeypot."""
    # Read from the templates, so a form added later is fuzzed too.
    names = {HONEYPOT}
    for template in importlib.resources.files("wsgiauth.templates").iterdir():
        if template.name.endswith(".html"):
            text = template.read_text(encoding="utf-8")
            names.update(re.findall(r"field\('(\w+)'", text))
            names.update(re.findall(r'<(?:input|textarea)\b[^>]*?\bname="(\w+)"', text))
    # The fields the Confirm access page carries through to a form, under their prefix.
    names.update(access.CARRIED + name for carried in CONFIRMED.values() if not isinstance(carried, str)
                 for name in carried)
    return sorted(names)


FIELDS = form_fields()
assert {"csrf_token", "firstname", "email", "password", "new_password2", "delete_confirm", "message", "next"} <= set(
    FIELDS), FIELDS

# -- Values -----------------------------------------------------------------
# Hypothesis picks the shape of each request (method, URL rule, token, how
# the path is mangled, query, body kind, content type and length, how many
# fields are hostile, cookies, headers) and a seed; the values themselves
# (strings of up to 300,000 characters) come from a random.Random seeded with
# it and the request's number in the test. Drawn one character at a time
# through hypothesis they cost ~35 ms a request, ten times what the app takes
# to answer it. The number: most examples hypothesis runs are copies of an
# earlier one with one part changed (its mutator), and only a third of the
# requests were new; with it, each has values of its own.


@dataclass(frozen=True)
class Known:
    """A value only known when the request is sent (the user's email, this browser's CSRF token), maybe damaged."""

    name: str
    damage: tuple = ()


# Characters that break parsers, templates, mail headers and logs: controls,
# NUL, line and paragraph separators, bidi and zero-width marks, the BOM,
# emoji and sequences of them, letters that change length with case, markup.
NASTY = ["\x00", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\xa0", "\xad", "\u200b", "\u200c",
         "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff", "\ufffd", "\U0001f600",
         "\U0001f469\u200d\U0001f4bb", "\U0001f1fa\U0001f1f8", "e\u0301", "\u00df", "\u0130", "\ufb01",
         "\uff50\uff41\uff53\uff53", "<script>", "{{ 7*7 }}", "%s", "%(x)s", "'", '"', "\\", "=?utf-8?q?x?=", "@",
         "..", "/", "%", "%ff", "+", "&", "=", ";", "#", "?", " "]
# Bytes no UTF-8 decoder accepts: lone continuation bytes, a surrogate as
# UTF-8 would encode it (WTF-8), an overlong "/", cut sequences, 0xF8.
BAD_UTF8 = [b"\xff\xfe", b"\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x9f\x98",
            b"\xf8\x88\x80\x80\x80", b"\xc3", b"\xfe\xff\x00a"]
# Around every limit the app has (names, emails, passwords, subject, message),
# and far past them, up to a few hundred kilobytes.
LENGTHS = [63, 64, 65, 100, 101, 200, 201, 254, 255, 500, 1024, 1025, 5000, 5001]
HUGE = [70_000, 300_000]  # one long value in twenty
SPECIAL = ["", " ", "0", "-1", "null", "[]", "{}", "true", "\x00", "%", "%ff", "a=b&c=d", "\r\n\r\n", "DELETE\x00"]


def mostly(usual, odd, share=0.85) -> st.SearchStrategy:
    """Return a strategy picking one of usual (a value or a list) about `share` of the time, else one of odd."""
    # Each part of a request is usually right, so that many whole requests
    # are (a form with its token reaches validation and the database), and
    # every part is wrong often enough.
    usual = usual if isinstance(usual, list) else [usual]
    copies = max(1, round(share * len(odd) / ((1 - share) * len(usual))))
    return st.sampled_from(usual * copies + odd)


# What a hostile value is made of.
HOSTILE_KINDS = ["short", "long", "surrogates", "bytes", "special"]


def random_char(rnd) -> str:
    """Return one character: ASCII, one of NASTY, or any code point (never a lone surrogate)."""
    roll = rnd.random()
    if roll < 0.4:
        return chr(rnd.randrange(0x20, 0x7F))
    if roll < 0.7:
        return rnd.choice(NASTY)
    code = rnd.randrange(0x80, 0x10000) if roll < 0.9 else rnd.randrange(0x10000, 0x110000)
    return "\ufffd" if 0xD800 <= code < 0xE000 else chr(code)


def random_text(rnd, most=12) -> str:
    """Return up to `most` random characters."""
    return "".join(random_char(rnd) for _ in range(rnd.randrange(most + 1)))


class Repeated(str):
    """A piece of text repeated to a length: a str, which remembers its piece so that it is percent-encoded fast."""

    def __new__(cls, piece: str, length: int):
        """Make piece repeated to exactly length characters."""
        self = super().__new__(cls, (piece * (length // len(piece) + 1))[:length])
        self.piece = piece
        return self


def hostile(rnd, kind):
    """Return a value of a hostile kind: short, long, lone surrogates, bytes that are no UTF-8, or special."""
    if kind == "short":
        return random_text(rnd)
    if kind == "long":
        return Repeated(random_text(rnd, 3) or "x", rnd.choice(HUGE if rnd.random() < 0.05 else LENGTHS))
    if kind == "surrogates":  # sent as WTF-8 bytes (as_bytes), or as JSON escapes
        return random_text(rnd, 3) + "".join(chr(rnd.randrange(0xD800, 0xE000)) for _ in range(rnd.randrange(1, 4)))
    if kind == "bytes":
        return b"".join(rnd.choice(BAD_UTF8) if rnd.random() < 0.6 else rnd.randbytes(rnd.randrange(1, 5))
                        for _ in range(rnd.randrange(1, 5)))
    return rnd.choice(SPECIAL)


def damage(rnd) -> tuple:
    """Return what is done to a Known value: mostly nothing, else cut, one character flipped, extended, upper-cased."""
    if rnd.random() < 0.7:
        return ()
    return rnd.choice([("cut", rnd.randrange(200)), ("flip", rnd.randrange(200)),
                       ("append", rnd.choice([".", "=", "%ff", "\x00", random_text(rnd, 3)])), ("upper",)])


FRESH_EMAIL = object()  # an address nobody has yet
NAMES = ["Ada", "ada lovelace", "Zo\u00eb", "\u0141ukasz", "O'Brien", "van Gogh", "\u674e", "x" * 100, "  Grace  ",
         "\u202eevil", "A\u0301da", '"\\' * 50]
PASSWORDS = [Known("password")] * 3 + [Known("new_password")] * 2 + ["password", "12345678", "a" * 1024, "short"]
NEW_PASSWORDS = [Known("new_password")] * 4 + PASSWORDS
# What a person would type into each field, so that forms get through
# validation and reach the database.
TYPICAL = {
    "firstname": NAMES, "lastname": NAMES, "name": NAMES,
    "email": [Known("email")] * 4 + [Known("other_email")] + [FRESH_EMAIL] * 5 + [
        "e" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com", "ADA@EXAMPLE.COM ", "a@b", "@"],
    "password": PASSWORDS, "password2": NEW_PASSWORDS, "new_password": NEW_PASSWORDS, "new_password2": NEW_PASSWORDS,
    "delete_confirm": ["DELETE", "DELETE", " DELETE ", "delete"], "carried-delete_confirm": ["DELETE", "delete"],
    "carried-email": [Known("email"), Known("other_email"), FRESH_EMAIL, FRESH_EMAIL, "a@b"],
    # The form the Confirm access page carries on: ours that need it, ours that do not, others.
    "then": ["/account/email", "/account/password", "/account/delete", "/signout/others", "/account/name",
             "/account", "/account/email/x", "//evil.example/account/delete", "/%ff", "/" + "a" * 1001,
             "/admin/users/1/lock", "/admin/users/2/groups", "/admin/users/999/delete"],
    "group": ["admin", "finance", "Staff", "a" * 65, "x,y", ""],
    "carried-group": ["admin", "finance"],
    "subject": ["Hello", "A question", "=?utf-8?b?SGk=?=", "x" * 200],
    "message": ["Hi there.", "Line one\r\nline two", "x" * 5000, "\r\n" * 3000],
    "remember": ["1", "on", ""],
    "next": ["/profile", "/account", "/static/style.css", "//evil.example", "/\tevil.example",
             "http://app.example.org/page?x=1", "https://evil.example/", "javascript:alert(1)", "/reset/x", "/%ff",
             "/" + "a" * 1001],
    HONEYPOT: ["", "", "", "http://spam.example"],
    "csrf_token": [Known("csrf")] * 6 + [Known("csrf_other")],
}


def typical(rnd, name):
    """Return what a person might type into field name (a Known value sometimes damaged, as by a typo)."""
    value = rnd.choice(TYPICAL.get(name, SPECIAL))
    if value is FRESH_EMAIL:
        return f"fuzz{rnd.randrange(10**9)}@example.org"
    return Known(value.name, damage(rnd)) if isinstance(value, Known) else value


def odd_name(rnd, name) -> str:
    """Return another name a field may be sent under: PHP/Rails array styles, other cases, a stray space, anything."""
    return rnd.choice([f"{name}[]", f"{name}[0]", f"{name}[x][y]", name.upper(), f" {name}", random_text(rnd, 8),
                       ""])


# How many fields of a request get a hostile value (the others what a person types).
HOSTILE_FIELDS = mostly(0, [1, 1, 2, 3, len(FIELDS)], 0.5)
EXTRAS = st.lists(st.sampled_from(["duplicate", "odd", "odd", "hostile"]), max_size=4)


@st.composite
def form_pairs(draw, rnd, well_formed) -> list:
    """Return (name, value) pairs: every form field, a few hostile; in a free request, odd names and duplicates too."""
    hostile_fields = set(rnd.sample(FIELDS, draw(HOSTILE_FIELDS, label="hostile fields")))
    if well_formed:
        hostile_fields.discard("csrf_token")  # so that the form reaches its view
    pairs = []
    for name in FIELDS:
        if name in hostile_fields:
            pairs.append((name, hostile(rnd, rnd.choice(HOSTILE_KINDS))))
        elif well_formed and name == "csrf_token":
            pairs.append((name, Known("csrf")))
        elif well_formed or rnd.random() < 0.9:  # a free request leaves out a field now and then
            pairs.append((name, typical(rnd, name)))
    if not well_formed:
        for extra in draw(EXTRAS, label="extra fields"):
            name = rnd.choice(FIELDS)
            value = hostile(rnd, rnd.choice(HOSTILE_KINDS)) if extra == "hostile" else typical(rnd, name)
            pairs.insert(rnd.randrange(len(pairs) + 1), (odd_name(rnd, name) if extra == "odd" else name, value))
    return pairs


# -- Requests -----------------------------------------------------------------

ODD_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "PROPFIND", "get",
               "post", "BREW", "M-SEARCH", "POST ", "G\x00ET", "", "X" * 100]


def rule_methods(rule) -> list:
    """Return the methods a rule is mostly sent: POST where it takes one (GET a third of the time), else GET."""
    if "POST" in rule.methods:
        return ["POST", "POST", "GET"] if "GET" in rule.methods else ["POST"]
    return ["GET"]


RULE_METHODS = {rule.rule: rule_methods(rule) for rule in url_map().iter_rules()}
METHODS = {rule: mostly(methods, ODD_METHODS) for rule, methods in RULE_METHODS.items()}
# The token each link's URL expects, and all the others.
LINK_TOKENS = {"/confirm/<token>": "token:confirm", "/reset/<token>": "token:reset",
               "/account/email/<token>": "token:email"}
OTHER_TOKENS = ["token:confirm", "token:reset", "token:email", "token:old_confirm", "token:old_reset",
                "token:old_email", "random", "long", "bytes", "special"]
TOKENS = {rule: mostly(purpose, OTHER_TOKENS, 0.6) for rule, purpose in LINK_TOKENS.items()}
UIDS = mostly(Known("other_uid"), [Known("uid"), "0", "987654", "99999999999999999999999", "-1", "1.5", "abc", "%31"])
TOKEN_SPECIALS = ["", "a.b.c", "W10.AAAA.BBBB", "eyJ", "..", "%ff%fe", "x" * 100_000, "\x00"]
FILENAMES = ["style.css", "passwords.js", "style.0123abcd.css", "../../../etc/passwd", "..%2f..%2fsetup.cfg",
             "nonexistent.css", "style.css/", ".", "", "\x00", "%00.css", "random", "bytes"]
MANGLES = mostly("none", ["slash", "double", "dots", "escape", "bytes", "long", "random", "case"])
ESCAPES = ["%ff%fe", "%", "%zz", "%2f", "%00", "%c0%af", "%ed%a0%80"]


def token(rnd, kind):
    """Return a token of a kind: a Known one (this example's or the last's, maybe damaged) or garbage."""
    if kind.startswith("token:"):
        return Known(kind, damage(rnd))
    if kind == "random":
        return random_text(rnd, 40)
    if kind == "long":
        return Repeated(random_text(rnd, 3) or "x", rnd.choice(LENGTHS + HUGE[:1]))
    if kind == "bytes":
        return hostile(rnd, "bytes")
    return rnd.choice(TOKEN_SPECIALS)


@st.composite
def paths(draw, rnd, well_formed) -> list:
    """Return (rule, path as pieces of bytes, str or Known): a rule of the Map with its values, or a mangled one."""
    pieces = []
    rule = draw(st.sampled_from(RULES), label="rule")
    for part in re.split(r"(<[^>]+>)", rule):
        if part.startswith("<path:"):
            filename = rnd.choice(FILENAMES[:2]) if well_formed else draw(st.sampled_from(FILENAMES), label="file")
            pieces.append(random_text(rnd) if filename == "random" else
                          hostile(rnd, "bytes") if filename == "bytes" else filename)
        elif part.startswith("<int:"):
            # An account's number in the admin area: this user's, another's, or none.
            pieces.append(Known(rnd.choice(["uid", "other_uid"])) if well_formed else
                          draw(UIDS, label="uid"))
        elif part.startswith("<"):
            # A link as mailed, or (a fifth of the time) the one mailed before.
            purpose = LINK_TOKENS[rule] if rnd.random() < 0.8 else LINK_TOKENS[rule].replace(":", ":old_")
            pieces.append(Known(purpose) if well_formed else token(rnd, draw(TOKENS[rule], label="token")))
        elif part:
            pieces.append(part)
    mangle = "none" if well_formed else draw(MANGLES, label="mangle")
    if mangle == "slash":
        pieces.append("/")
    elif mangle == "double":
        pieces.insert(0, "/")
    elif mangle == "dots":
        pieces.append("/../" + rnd.choice(RULES))
    elif mangle == "escape":
        pieces.append(rnd.choice(ESCAPES))
    elif mangle == "bytes":
        pieces.append(hostile(rnd, "bytes"))
    elif mangle == "long":
        pieces.append("/" + "a" * rnd.choice([255, 4096, 65_536]))
    elif mangle == "random":
        pieces = ["/", random_text(rnd, 30)]
    elif mangle == "case":
        pieces = [piece.upper() if isinstance(piece, str) else piece for piece in pieces]
    return rule, pieces


# The admin area's too: its search (q, by), its keyset cursors (after,
# before) and the audit trail's filters.
QUERY_NAMES = ["next", "redirect", "token", "email", "csrf_token", "q", "by", "after", "before", "event", "uid", "ip",
               "from", "to"]
QUERY_VALUES = ["1", "0", "", "/profile", "//evil.example", "http://app.example.org/x", "user", "name", "email",
                "signin", "2027-01-31", "2027-02-30", "127.0.0.1", "1800000000-5", "9" * 40, "-1", "Ada Lov",
                "user1@example.com\x1f3"]
QUERY_KINDS = mostly("none", ["pairs", "pairs", "bytes", "raw"], 0.75)
RAW_QUERIES = ["%ff%fe=%ed%a0%80", "next=%", "&&&==&", "a=" + "b" * 100_000, "next[]=/profile", "redirect=1&redirect=0"]


def query(rnd, kind) -> list:
    """Return the items of a query string: (name, value) pairs to escape, or raw bytes/strings sent as they are."""
    if kind == "pairs":
        return [(rnd.choice(QUERY_NAMES) if rnd.random() < 0.7 else odd_name(rnd, rnd.choice(QUERY_NAMES)),
                 rnd.choice(QUERY_VALUES) if rnd.random() < 0.5 else hostile(rnd, rnd.choice(HOSTILE_KINDS)))
                for _ in range(rnd.randrange(1, 5))]
    if kind == "bytes":  # not escaped: ?next=\xff as a client that skips percent-encoding sends it
        return [rnd.choice(QUERY_NAMES).encode() + b"=" + hostile(rnd, "bytes")]
    if kind == "raw":
        return [rnd.choice(RAW_QUERIES)]
    return []


BODY_KINDS = mostly(["urlencoded"] * 3 + ["multipart"],
                    ["raw", "broken_multipart", "json", "text", "garbage", "none"], 0.8)
# A field sent this many more times: around Werkzeug's 1,000 parts of a multipart body.
FLOODS = mostly(0, [999, 1001, 5000], 0.9)
CONTENT_TYPES = mostly(None, [
    "application/x-www-form-urlencoded; charset=utf-16", "application/x-www-form-urlencoded; charset=\xff",
    "application/x-www-form-urlencoded; charset=bogus", "APPLICATION/X-WWW-FORM-URLENCODED",
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=" + "b" * 200,
    'multipart/form-data; boundary="x"; boundary=y', "application/json", "text/plain", "text/html",
    "application/octet-stream", "", ";", "form-data", "x" * 5000, "multipart/mixed; boundary=x", "\x00\xff",
])
# "chunked": no Content-Length, and the server says where the body ends.
CONTENT_LENGTHS = mostly(["exact"] * 5 + ["chunked"], ["missing", "99999999999", "-1", "abc", "", "shorter", "longer",
                                                        " 5", "1e3", "0"])

HEADER_VALUES = {
    "Host": ["localhost", "localhost:80", "LOCALHOST", "evil.example", "a..b", "x" * 64 + ".com", "localhost:abc",
             "[::1]", "[::1", "", " ", "ex ample.com", "ex\xe4mple.com", "localhost\x00", "1.2.3.4:99999",
             "app.example.org", "localhost:80:80", "@evil.example", "localhost/../x"],
    "Origin": ["http://localhost", "http://localhost", "null", "http://evil.example", "https://localhost",
               "http://localhost:80", "HTTP://LOCALHOST", "http://localhost.", "", "\x00"],
    "Referer": ["http://localhost/signin", "http://evil.example/", "/%ff", "x" * 10_000],
    "Sec-Fetch-Site": ["same-origin", "cross-site", "none", "same-site"],
    "User-Agent": ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "curl/8.0", "\x00\x1b[31mred", "x" * 10_000,
                   "Edg/1 Android iPhone Windows CrOS Opera"],
    "X-Forwarded-For": ["1.2.3.4", "1.2.3.4, 5.6.7.8", "unknown", "::1", "", "1.2.3.4,,", "<script>", "x" * 1000,
                        "1.2.3.4\x00"],
    "X-Forwarded-Proto": ["https", "http", "HTTPS", "javascript", "", "https, http", "ftp"],
    "X-Forwarded-Host": ["app.example.org", "evil.example", "localhost:abc", "a..b", "", "x" * 300, "[::1"],
    "X-Forwarded-Port": ["443", "abc", "-1", "99999", ""],
    "X-Forwarded-Prefix": ["/auth", "//evil.example", "/%ff", "/a b", "/\x00", "", "/a,/b", "/" + "p" * 500],
    "X-Forwarded-Uri": ["/page", "/page?x=1", "//evil.example", "http://evil.example/", "", "/%ff", "/\x00"],
    "X-Forwarded-Method": ["GET", "POST", "get", "", "\x00"],
    "Accept-Language": ["de-DE,de;q=0.9", "*;q=abc", "x" * 1000],
    "Accept-Encoding": ["gzip, br", "identity;q=0", "*;q=x"],
    "Range": ["bytes=0-10", "bytes=abc", "bytes=999999-", "bytes=-0", "bytes=5-1", "bytes=0-1,2-3,4-5"],
    "If-Modified-Since": ["Thu, 01 Jan 1970 00:00:00 GMT", "yesterday", "", "Mon, 99 Foo 99999 99:99:99 GMT"],
    "If-None-Match": ["*", '"abc"', "W/", '"' * 100],
    "If-Range": ['"abc"', "Thu, 01 Jan 1970 00:00:00 GMT", "junk"],
    "Authorization": ["Basic Zm9vOmJhcg==", "Bearer \x00", "Basic !!!"],
    "Forwarded": ["for=1.2.3.4;proto=https", 'for="[::1', ";;;"],
    "Transfer-Encoding": ["chunked", "gzip, chunked", "identity", "x"],
    "Expect": ["100-continue", "x"],
    "Content-Encoding": ["gzip", "br", "x"],
    "Remote-User": ["admin@example.com"],
    "X-Remote-User": ["admin@example.com"],
}
HEADER_NAMES = sorted(HEADER_VALUES)


def header_value(rnd, name) -> str:
    """Return a value for a header: one of its typical ones, or any Latin-1 text (WSGI passes headers so)."""
    if rnd.random() < 0.75:
        return rnd.choice(HEADER_VALUES[name])
    return "".join(chr(rnd.randrange(256)) for _ in range(rnd.randrange(40)))


# The cookies a request carries: the browser's own (the jar, as a browser
# sends it), with others before or after them, damaged ones instead, or garbage.
COOKIE_KINDS = mostly("jar", ["before", "after", "instead", "raw"])
RAW_COOKIES = ["", "=" * 5000, 'wsgiauth="unclosed', "wsgiauth=a; wsgiauth=b", ";;;", "\x00=\x00"]


def cookie_pieces(rnd) -> list:
    """Return (name, value) cookies: the session, notice or reset link cookie's name or any, with a known, damaged
    or odd value."""
    return [(rnd.choice([Known("cookie_name"), Known("notice_cookie_name"), Known("link_cookie_name"),
                         random_text(rnd, 8)]),
             rnd.choice([Known("cookie", damage(rnd)), Known("cookie_other", damage(rnd)), Known("notice", damage(rnd)),
                         Known("link_cookie", damage(rnd)),
                         "".join(chr(rnd.randrange(256)) for _ in range(rnd.randrange(60)))]))
            for _ in range(rnd.randrange(1, 4))]


REMOTE_ADDRS = mostly("ip", ["", "unknown", "1.2.3.4, 5.6.7.8", "::ffff:1.2.3.4", "x" * 100, "\x00"], 0.9)
HEADER_COUNTS = mostly(0, [1, 1, 2, 3, 4], 0.5)
# Behind the gate, some requests go to the host app (None: to a page of ours).
HOST_PATHS = mostly(None, ["/", "/private", "/private/x", "/privatex", "/reports", "/reports/2026/q1", "/accountsx",
                           "/accounts", "/accounts/", "//accounts/signin", "/public/%ff", "/\x00", b"/\xff\xfe",
                           "/" + "r" * 10_000], 0.8)
# Half the requests are well formed: the rule's method, its path, a form
# body of the right type and length, the browser's cookies and its CSRF
# token, so that they reach validation and the database; hostile field
# values, bad tokens in links and wrong passwords still come in them. The
# other half are free: every part may be wrong.
WELL_FORMED = st.booleans()


def browser_headers(rnd) -> dict:
    """Return headers a browser sends with a form: its Origin (or "null" from a no-referrer page), a User-Agent."""
    headers = {"User-Agent": rnd.choice(HEADER_VALUES["User-Agent"][:2])}
    if rnd.random() < 0.5:
        headers.update(rnd.choice([{"Origin": "http://localhost"},
                                   {"Origin": "null", "Sec-Fetch-Site": "same-origin"}]))
    return headers


SEEDS = st.integers(0, 2**32 - 1)
REQUEST_NUMBERS = itertools.count()  # restarted by each test (fuzz), so that -k runs the same requests


@st.composite
def requests(draw) -> dict:
    """Return one whole request, its secrets still Known: method, path, query, body, cookies, headers, client."""
    rnd = random.Random(draw(SEEDS, label="seed") * 1_000_003 + next(REQUEST_NUMBERS))
    well_formed = draw(WELL_FORMED, label="well formed")

    def part(strategy, label, usual):
        """Return the usual value of a well-formed request, else one hypothesis draws."""
        return usual if well_formed else draw(strategy, label=label)

    rule, path = draw(paths(rnd, well_formed))
    cookies = part(COOKIE_KINDS, "cookies", "jar")
    remote_addr = part(REMOTE_ADDRS, "remote_addr", "ip")
    header_names = [] if well_formed else [draw(st.sampled_from(HEADER_NAMES), label="header")
                                           for _ in range(draw(HEADER_COUNTS, label="headers"))]
    return {
        "method": part(METHODS[rule], "method", rnd.choice(RULE_METHODS[rule])),
        "path": path,
        "host_path": draw(HOST_PATHS, label="host path"),
        # Any request, well formed or not, may carry a query string (curl sends raw bytes in one).
        "query": query(rnd, draw(QUERY_KINDS, label="query")),
        "body": {
            "kind": part(BODY_KINDS, "body", rnd.choice(["urlencoded"] * 3 + ["multipart"])),
            "pairs": draw(form_pairs(rnd, well_formed)),
            "content_type": part(CONTENT_TYPES, "content_type", None),
            "content_length": part(CONTENT_LENGTHS, "content_length", rnd.choice(["exact"] * 5 + ["chunked"])),
            "flood": (rnd.choice(FIELDS), part(FLOODS, "flood", 0)),
            "junk": rnd.randbytes(rnd.randrange(64)),
        },
        "cookies": "jar" if cookies == "jar" else (cookies, rnd.choice(RAW_COOKIES)) if cookies == "raw" else (
            cookies, cookie_pieces(rnd)),
        "headers": browser_headers(rnd) if well_formed else {name: header_value(rnd, name) for name in header_names},
        # Most from all over the internet, so that no per-IP limit stops the run.
        "remote_addr": (f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}"
                        if remote_addr == "ip" else remote_addr),
    }


REQUESTS = requests()


# -- Sending them -------------------------------------------------------------


class RawClient(Client):
    """A test client that hands the app the environ as built, and leaves cookies to the Browser."""

    # Client.run_wsgi_app works out the request's URL for its cookie jar
    # (uri_to_iri), which took 25 ms for a 64 KiB path: most of the run.
    def run_wsgi_app(self, environ, buffered=False):
        """Run the app on environ; return (body iterable, status, headers)."""
        return run_wsgi_app(self.application, environ, buffered=buffered)


class Browser:
    """One fuzzing browser on an app: its cookie jar, its user, and the secrets Known values stand for."""

    def __init__(self, app, client, secrets, jar=None, mount=""):
        self.app = app  # the WSGIAuth app, for its sessions, tokens and database
        self.client = client  # on the app, or on a gate in front of it
        self.mount = mount  # where the gate serves the app's pages ("" without a gate)
        self.secrets = dict(secrets)  # Known name -> value, for what does not depend on the jar
        self.jar = dict(jar or {})  # cookie name -> value, as this browser holds them
        self.history = []  # (environ, status) of each request sent, for a failure's message

    def csrf(self, jar) -> str:
        """Return the CSRF token that goes with the session cookie in jar (that of a fresh id without one)."""
        # The app's own reading of the cookie and its own token: a page of
        # the site would print exactly this token for this browser.
        session = self.app.sessions.load(self.app.db, types.SimpleNamespace(cookies=jar))
        return self.app.sessions.csrf_token(session)

    def resolve(self, value) -> str:
        """Return the value a Known stands for now, damaged as it says; anything else as it is."""
        if not isinstance(value, Known):
            return value
        sessions = self.app.sessions
        if value.name == "csrf":
            text = self.csrf(self.jar)
        elif value.name == "csrf_other":
            text = self.csrf({sessions.cookie_name: self.secrets["cookie_other"]})
        elif value.name == "cookie_name":
            text = sessions.cookie_name
        elif value.name == "notice_cookie_name":
            text = sessions.notice_cookie_name
        elif value.name == "cookie":
            text = self.jar.get(sessions.cookie_name, "")
        elif value.name == "notice":
            text = self.jar.get(sessions.notice_cookie_name, "")
        elif value.name == "link_cookie_name":  # where /reset/<token> put its token (views/common.py)
            text = sessions.link_cookie_name(RESET_PASSWORD)
        elif value.name == "link_cookie":
            text = self.jar.get(sessions.link_cookie_name(RESET_PASSWORD), "")
        else:
            text = self.secrets.get(value.name, "")
        return damaged(text, value.damage)

    def cookie_header(self, spec):
        """Return the Cookie header for spec: the jar's cookies, changed as spec says, or raw garbage."""
        jar = [f"{name}={value}" for name, value in self.jar.items()]
        if spec == "jar":
            return "; ".join(jar) or None
        how, extra = spec
        if how == "raw":
            return extra
        extra = [f"{self.resolve(name)}={self.resolve(value)}" for name, value in extra]
        if how == "before":
            return "; ".join(extra + jar)
        if how == "after":
            return "; ".join(jar + extra)
        return "; ".join(extra)

    def environ(self, spec) -> dict:
        """Return the WSGI environ of a request spec, as a server would pass it (PATH_INFO already unquoted)."""
        if spec.get("host_path") is None or not self.mount:
            path = self.mount.encode() + b"".join(as_bytes(self.resolve(piece)) for piece in spec["path"])
        else:  # a page of the host app behind the gate
            path = as_bytes(spec["host_path"])
        body, content_type = encode_body(spec["body"], [(self.resolve(n), self.resolve(v))
                                                         for n, v in spec["body"]["pairs"]])
        environ = {
            "REQUEST_METHOD": spec["method"], "SCRIPT_NAME": "",
            # Servers percent-decode the path and pass its bytes as Latin-1 (PEP 3333).
            "PATH_INFO": path.decode("latin-1"),
            "QUERY_STRING": encode_query([item if isinstance(item, bytes) else
                                          (self.resolve(item[0]), self.resolve(item[1])) if isinstance(item, tuple)
                                          else item for item in spec["query"]]).decode("latin-1"),
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": spec["remote_addr"], "HTTP_HOST": "localhost",
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        length = spec["body"]["content_length"]
        if length == "exact":
            environ["CONTENT_LENGTH"] = str(len(body))
        elif length == "chunked":  # no length; the server says where the body ends
            environ["wsgi.input_terminated"] = True
        elif length == "shorter":
            environ["CONTENT_LENGTH"] = str(max(0, len(body) - 3))
        elif length == "longer":
            environ["CONTENT_LENGTH"] = str(len(body) + 10)
        elif length != "missing":
            environ["CONTENT_LENGTH"] = length
        cookie = self.cookie_header(spec["cookies"])
        if cookie is not None:
            environ["HTTP_COOKIE"] = cookie
        for name, value in spec["headers"].items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ

    def send(self, spec, kind="generated"):
        """Send one request spec; check the answer is no 5xx; keep its cookies as a browser would; return it."""
        environ = self.environ(spec)
        SENT[kind] += 1
        response = self.client.open(Request(environ), buffered=True)
        self.history.append((environ, response.status))
        assert response.status_code < 500, "\n".join(f"{status} for {describe(env)}" for env, status in self.history)
        self.keep_cookies(response)
        return response

    def keep_cookies(self, response) -> None:
        """Store or drop the cookies the response sets, as a browser would."""
        for header in response.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            value, _, attributes = rest.partition(";")
            if "Max-Age=0" in attributes or "Expires=Thu, 01 Jan 1970" in attributes:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value


def damaged(text: str, how: tuple) -> str:
    """Return text cut, with one character flipped, extended or upper-cased, as how says."""
    if not how:
        return text
    if how[0] == "cut":
        return text[: how[1] % (len(text) + 1)]
    if how[0] == "flip" and text:
        i = how[1] % len(text)
        return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
    if how[0] == "append":
        return text + how[1]
    return text.upper()


def as_bytes(value) -> bytes:
    """Return a value as the bytes a client sends: UTF-8, with lone surrogates as WTF-8."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


# Each byte as a browser sends it in a form: letters, digits and -._~ as
# they are, every other byte %XX. Looked up byte by byte in C (map, join):
# urllib's quote_from_bytes took ~1 s per MB.
ESCAPED = [bytes([b]) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-._~") else b"%%%02X" % b
           for b in range(256)]


def percent_encoded(value) -> bytes:
    """Return a value percent-encoded as a browser would (a Repeated one piece by piece)."""
    if isinstance(value, Repeated):
        whole, rest = divmod(len(value), len(value.piece))
        return percent_encoded(value.piece) * whole + percent_encoded(value.piece[:rest])
    return b"".join(map(ESCAPED.__getitem__, as_bytes(value)))


def encode_query(items) -> bytes:
    """Return a query string: pairs percent-encoded, raw bytes as they are."""
    return b"&".join(percent_encoded(item[0]) + b"=" + percent_encoded(item[1]) if isinstance(item, tuple)
                     else as_bytes(item) for item in items)


def encode_body(body, pairs):
    """Return (bytes, Content-Type or None) of a body spec with its resolved pairs (and its flood of one field)."""
    kind = body["kind"]
    flooded, times = body["flood"]
    flood = (b"&" + flooded.encode() + b"=1") * times  # repeated bytes: 5,000 pairs one by one took 10 ms
    if kind == "urlencoded":
        data, content_type = encode_query(pairs) + flood, "application/x-www-form-urlencoded"
    elif kind == "raw":  # not escaped: "&" and "=" in values split them, bytes arrive raw
        data = b"&".join(as_bytes(name) + b"=" + as_bytes(value) for name, value in pairs)
        content_type = "application/x-www-form-urlencoded"
    elif kind in ("multipart", "broken_multipart"):
        data, content_type = encode_multipart(pairs, broken=kind == "broken_multipart", junk=body["junk"],
                                              flood=body["flood"])
    elif kind == "json":
        data = json.dumps({as_text(name): as_text(value) for name, value in pairs}).encode()
        content_type = "application/json"
    elif kind == "text":
        data = b"\r\n".join(as_bytes(name) + b"=" + as_bytes(value) for name, value in pairs)
        content_type = "text/plain"
    elif kind == "garbage":
        data, content_type = body["junk"] * 50, None
    else:
        data, content_type = b"", None
    if body["content_type"] is not None:
        content_type = body["content_type"]
    return data, content_type


def as_text(value) -> str:
    """Return a value as str for JSON (bytes as Latin-1, so every byte survives; surrogates become \\ud800 escapes)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def encode_multipart(pairs, broken, junk, flood):
    """Return a multipart/form-data body and its Content-Type; broken: cut short, wrong boundary, junk parts."""
    boundary = b"fuzzboundary7MA4YWxkTrZu0gW"
    flooded, times = flood
    parts = [(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + flooded.encode() + b'"\r\n\r\n1\r\n')
             * times]
    for i, (name, value) in enumerate(pairs):
        disposition = b'Content-Disposition: form-data; name="' + as_bytes(name).replace(b'"', b"%22") + b'"'
        if i % 4 == 3:  # a file where a text field belongs
            disposition += b'; filename="a.txt"\r\nContent-Type: application/octet-stream'
        parts.append(b"--" + boundary + b"\r\n" + disposition + b"\r\n\r\n" + as_bytes(value) + b"\r\n")
    data = b"".join(parts) + b"--" + boundary + b"--\r\n"
    if broken:
        data = junk + data[: len(data) // 2] + junk + b"\r\n--" + boundary + b"\r\nno headers here\r\n"
    return data, "multipart/form-data; boundary=" + boundary.decode()


def describe(environ) -> str:
    """Return a request in one line for a failure message, long values cut short."""
    def cut(value):
        if isinstance(value, (str, bytes)) and len(value) > 200:
            return f"{value[:200]!r}...({len(value):,} in all)"
        return repr(value)

    body = environ["wsgi.input"].getvalue()
    interesting = {key: value for key, value in environ.items()
                   if key.startswith(("HTTP_", "CONTENT_")) or key in ("REMOTE_ADDR", "wsgi.input_terminated")}
    return (f"{cut(environ['REQUEST_METHOD'])} {cut(environ['PATH_INFO'])} ?{cut(environ['QUERY_STRING'])} "
            f"{ {key: cut(value) for key, value in interesting.items()} } body={cut(body)}")


# -- The state each example starts from -------------------------------------


@pytest.fixture
def fuzz_setup(make_user, clock):
    """Return start(app, signed_in, gate) -> Browser: a fresh user, tokens for their links, maybe signed in."""
    state = {"n": 0, "old": {}, "anonymous": {}}

    def start(app, signed_in, gate=None, admins=False):
        # Each example starts two hours later: every rate limit and backoff
        # window of the last one is over, its sessions have timed out, and
        # its reset links have expired (the "old" tokens below).
        clock.advance(2 * 3600)
        state["n"] += 1
        client, mount = RawClient(gate or app, use_cookies=False), gate.mount if gate else ""
        if app not in state["anonymous"]:
            # A browser that loaded a form: its signed cookie, no session row.
            state["anonymous"][app] = first_cookies(app, client, mount)
        anonymous = state["anonymous"][app]
        uid = make_user(app, confirmed=state["n"] % 2 == 0, email=f"user{state['n']}@example.com")
        if admins and state["n"] % 2:
            # Every other signed-in example is an admin's: the admin area's
            # forms reach their views (and change accounts, as admins do).
            app.db.transaction(lambda tx: accounts.add_to_group(app, tx, None, uid, accounts.ADMIN))
        if state["n"] % 3 == 0:  # an email change waiting for its link to be opened
            app.db.transaction(lambda tx: tx.run("set_pending_email", uid=uid,
                                                 pending_email=f"moved{state['n']}@example.net"))
        user = app.db.one("account_by_uid", uid=uid)
        secrets = {
            "email": user["email"], "password": "correct horse", "new_password": "a brand new passphrase 42",
            "other_email": "user1@example.com", "uid": str(uid), "other_uid": str(max(1, uid - 1)),
            "cookie_other": anonymous[app.sessions.cookie_name],
            "token:confirm": app.tokens.make(CONFIRM_EMAIL, user),
            "token:reset": app.tokens.make(RESET_PASSWORD, user),
            "token:email": app.tokens.make(CHANGE_EMAIL, user),
        }
        secrets.update({key.replace(":", ":old_"): value for key, value in state["old"].items()})
        state["old"] = {key: secrets[key] for key in ("token:confirm", "token:reset", "token:email")}
        browser = Browser(app, client, secrets, jar=anonymous, mount=mount)
        # signed_in=None: signed in every other example, with the confirmed
        # account (the one that may sign in under WSGIAUTH_REQUIRE_CONFIRMED_EMAIL).
        if signed_in or (signed_in is None and user["confirmed_at"]):
            response = browser.send(signin_request(browser), kind="setup")
            assert response.headers.get("Location") == mount + "/profile", response.status
        return browser

    return start


def first_cookies(app, client, mount) -> dict:
    """Return the cookies a browser holds after loading the sign-in form."""
    SENT["setup"] += 1
    browser = Browser(app, client, {})
    browser.keep_cookies(client.get(mount + "/signin"))
    return browser.jar


def signin_request(browser) -> dict:
    """Return the spec of a correct sign-in by the browser's user (a valid form, this browser's token)."""
    return {"method": "POST", "path": ["/signin"], "query": [], "cookies": "jar", "headers": {},
            "remote_addr": "192.0.2.1",
            "body": {"kind": "urlencoded", "content_type": None, "content_length": "exact", "junk": b"",
                     "flood": ("", 0), "pairs": [("csrf_token", Known("csrf")), ("email", Known("email")),
                               ("password", Known("password"))]}}


# -- After the run: the database ---------------------------------------------

INTEGRITY_QUERIES = ["incomplete_users_for_tests", "orphan_sessions_for_tests", "incomplete_sessions_for_tests",
                     "incomplete_outbox_for_tests", "incomplete_contact_messages_for_tests",
                     "incomplete_security_events_for_tests", "incomplete_attempts_for_tests",
                     "incomplete_attempt_keys_for_tests"]


def assert_database_intact(app, query):
    """Wait for the mail to be delivered; check SQLite's integrity, the foreign keys, every row's completeness."""
    app.outbox.courier.wait()
    assert query("integrity_check_for_tests") == [{"integrity_check": "ok"}]
    assert query("foreign_key_check_for_tests") == []
    for name in INTEGRITY_QUERIES:
        assert query(name) == [], name
    # Mail is never lost: every message stored was delivered (to .eml files).
    assert query("undelivered_outbox_for_tests") == []


def fuzz(app, start, signed_in, name, gate=None, admins=False):
    """Send EXAMPLES[name] x 1-7 generated requests to app (or the gate before it), each example from a fresh start."""
    # signed_in: True, False, or None for every other example. The seed is
    # the test's name: the same requests on every run, others in each test.
    global REQUEST_NUMBERS
    before, examples, REQUEST_NUMBERS = SENT["generated"], EXAMPLES[name], itertools.count()

    @seed(name)
    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(data=st.data())
    def run(data):
        """Start a browser and send it 1-7 generated requests, each answered under 500."""
        browser = start(app, signed_in, gate, admins)
        for _ in range(data.draw(st.integers(*REQUESTS_PER_EXAMPLE), label="requests")):
            browser.send(data.draw(REQUESTS, label="request"))

    run()
    # Hypothesis ran them all (no example filtered out or given up on).
    assert SENT["generated"] - before >= examples


@pytest.fixture(scope="module", autouse=True)
def report(request):
    """Print how many requests the module sent, and in how long."""
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past the output capture, like pytest's own summary
            reporter.write_line(f"\ntest_fuzz: {SENT['generated']:,} generated requests "
                                f"(+{SENT['setup']:,} to set up) in {seconds:.1f} s")


# -- The tests ----------------------------------------------------------------


def test_the_database_checks_find_half_written_rows(query):
    # The checks after each run must be able to fail: an account without a
    # password hash, its address not in its stored form, and a session that
    # expired before it began, as an older version or a bug could leave them.
    query("insert_user_for_tests", uid=7, email="Old@Example.com", pending_email=None)
    query("insert_session_for_tests", id_hash="a" * 64, uid=7)
    assert query("incomplete_users_for_tests") == [{"uid": 7}]
    assert query("incomplete_sessions_for_tests") == [{"id_hash": "a" * 64}]
    assert query("orphan_sessions_for_tests") == []


def test_signed_out_browsers_get_no_5xx_and_the_database_stays_intact(app, fuzz_setup, query):
    fuzz(app, fuzz_setup, signed_in=False, name="signed_out")
    assert_database_intact(app, query)


def test_signed_in_browsers_get_no_5xx_and_the_database_stays_intact(app, fuzz_setup, query):
    fuzz(app, fuzz_setup, signed_in=True, name="signed_in", admins=True)
    assert_database_intact(app, query)


def test_behind_a_proxy_with_forward_auth_no_5xx_and_the_database_stays_intact(make_app, fuzz_setup, query):
    # The other branches of the settings: X-Forwarded-* trusted (ProxyFix),
    # /auth/verify answering for listed origins, __Host- cookies, and
    # sign-in refused until the address is confirmed.
    app = make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS="http://app.example.org,https://other.example:8443",
                   SECURE_COOKIES=True, REQUIRE_CONFIRMED_EMAIL=True)
    fuzz(app, fuzz_setup, signed_in=None, name="behind_a_proxy")
    assert_database_intact(app, query)


def host_app(environ, start_response):
    """Answer as a host app behind the gate, checking that who is signed in comes from the gate alone."""
    # No identity header a client sent gets through (gate.FORGEABLE), and
    # REMOTE_USER is there exactly when the gate found a signed-in user.
    forged = [key for key in FORGEABLE if key.startswith("HTTP_") and key in environ]
    user = environ.get("wsgiauth.user")
    assert not forged and environ.get("REMOTE_USER") == (user and user["email"]), forged
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"host page for {user['email'] if user else 'nobody'}".encode()]


def test_behind_the_gate_no_5xx_and_the_database_stays_intact(app, fuzz_setup, query):
    # Our pages under /accounts, the host app everywhere else: some of it
    # protected, with forged identity headers among the generated ones.
    gate = Gate(host_app, app, mount="/accounts", protect=["/private", "/reports/*"])
    fuzz(app, fuzz_setup, signed_in=None, name="behind_the_gate", gate=gate)
    assert_database_intact(app, query)
