"""The benchmark's users: seeded in bulk with one precomputed hash, and a browser's cookies."""

import re
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from wsgiauth.db import Database

from .servers import http_request

PASSWORD = "benchmark password"
# User n has this address; wrk.lua formats the same %07d to pick users at
# random, and bench/queries.sql writes it in SQL.
EMAIL = "user%07d@bench.invalid"
BATCH = 10_000  # the most users one seed_users query inserts (bench/queries.sql)
QUERIES = Path(__file__).with_name("queries.sql")
_CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_database(url):
    """Return a Database on url that also runs the benchmark's own queries (bench/queries.sql)."""
    return Database(url, query_files=[QUERIES])


def seed_users(db, first, last, pwdhash, now):
    """Insert users first..last (inclusive), all with the same password hash."""
    # Hashing a million passwords would take days with a real method; every
    # row shares one hash instead, which costs the sign-in the same to check.
    # The database makes the rows itself, BATCH to a statement and a transaction.
    for start in range(first, last + 1, BATCH):
        db.transaction(lambda tx, start=start: tx.run("seed_users", first=start, last=min(start + BATCH - 1, last),
                                                      pwdhash=pwdhash, now=now))


def confirm_user(db, n, now):
    """Mark user n's email address as confirmed, as most users of a real site have done."""
    uid = db.one("user_uid_by_email", email=EMAIL % n)["uid"]
    db.transaction(lambda tx: tx.run("confirm_email", uid=uid, email=EMAIL % n, now=now))


def _cookie_header(headers):
    """Return the Set-Cookie headers of a response as one Cookie header value."""
    jar = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def csrf_token(page):
    """Return the CSRF token of the first form on page, or None if it has none."""
    token = _CSRF_TOKEN.search(page)
    return token and token.group(1)


def anonymous_form(base_url):
    """Load the sign-in form as a new browser; return (Cookie header, CSRF token)."""
    status, headers, page = http_request(base_url, "GET", "/signin")
    token = csrf_token(page)
    if status != 200 or not token:
        raise RuntimeError(f"GET /signin answered {status} without a CSRF token")
    return _cookie_header(headers), token


def signin_body(token, user=None):
    """Return the sign-in form body for `user`, or a format wrk.lua fills with random users."""
    if user:
        return urlencode({"csrf_token": token, "email": EMAIL % user, "password": PASSWORD})
    # For Lua's string.format: every % doubled, except the one of %07d.
    body = urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    return body.replace("%", "%%").replace("%%2507d", "%07d")


def signed_in_cookie(base_url):
    """Sign user 1 in over HTTP; return the Cookie header of the signed-in browser."""
    cookie, token = anonymous_form(base_url)
    status, headers, _ = http_request(base_url, "POST", "/signin", body=signin_body(token, 1), headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    if status != 303:
        raise RuntimeError(f"signing in user 1 answered {status}, not 303")
    return _cookie_header(headers)
