"""The benchmark's users and audit events, seeded in bulk (one precomputed hash for all), and a browser's cookies."""

import contextlib
import re
import secrets
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from wsgiauth.db import Database
from wsgiauth.sessions import SESSION_ID_BYTES, hash_id

from . import QUERIES
from .servers import http_request

PASSWORD = "benchmark password"
# User n has this address; wrk.lua formats the same %07d to pick users at
# random, and bench/queries.sql writes it in SQL.
EMAIL = "user%07d@bench.invalid"
BATCH = 10_000  # the most users one seed_users query inserts (bench/queries.sql)
EVENTS_BATCH = 100_000  # the most audit events one seed_events query inserts
# Common US first names and surnames; user n is FIRST_NAMES[n % 154] LAST_NAMES[n % 173]: every one of the
# 26,642 pairs comes up (154 and 173 share no factor), ~38 times among a million users.
FIRST_NAMES = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret
Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George
Deborah Timothy Stephanie Ronald Dorothy Jason Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob Amy Gary
Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry Anna Justin Pamela Scott Nicole Brandon
Samantha Benjamin Katherine Samuel Christine Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet
Jack Maria Dennis Catherine Jerry Heather Tyler Diane Aaron Olivia Jose Julie Adam Joyce Nathan Victoria Henry Ruth
Zachary Virginia Douglas Lauren Peter Kelly Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Andrea
Christian Hannah Keith Megan Roger Cheryl Terry Jacqueline Austin Martha Sean Madison Gerald Teresa Carl Gloria
Harold Sara Dylan Janice Arthur Ann Lawrence Kathryn Jordan Abigail""".split()
LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell
Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales
Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez
Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods
Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter
Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner""".split()
# What the audit trail holds, in 97ths (a prime: each user's events, which
# seed_events spaces a multiple of 10 apart, still get every kind).
EVENT_MIX = {"signin": 36, "signout": 14, "signin_failed": 14, "access_confirmed": 8, "signin_code_asked": 5,
             "rate_limited": 3, "signin_throttled": 2, "signout_others": 2, "password_change": 2, "password_reset": 1,
             "email_change_requested": 1, "email_change": 1, "authenticator_added": 1, "recovery_code_used": 1,
             "passkey_added": 1, "signed_out_by_admin": 1, "account_locked": 1, "account_unlocked": 1,
             "group_added": 1, "signup": 1}
_CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def bench_database(url):
    """Return a Database on url that also runs the benchmark's own queries (bench/queries.sql)."""
    # Seeding runs statements far longer than a request's (building an index
    # on millions of rows): the timeouts of `wsgiauth migrate`.
    return Database(url, query_files=[QUERIES], timeouts={"read_timeout": 3600, "write_timeout": 3600})


def cells(words, width):
    """Return words as one string of `width`-character cells, for SQL's SUBSTR to pick from."""
    return "".join(word.ljust(width) for word in words)


def seed_users(db, first, last, pwdhash, now):
    """Insert users first..last (inclusive), all with the same password hash, each with a name."""
    # Hashing a million passwords would take days with a real method; every
    # row shares one hash instead, which costs the sign-in the same to check.
    # The database makes the rows itself, BATCH to a statement and a transaction.
    width = max(map(len, FIRST_NAMES + LAST_NAMES))
    names = dict(first_names=cells(FIRST_NAMES, width), firsts=len(FIRST_NAMES),
                 last_names=cells(LAST_NAMES, width), lasts=len(LAST_NAMES), width=width)
    in_batches(db, "seed_users", first, last, BATCH, pwdhash=pwdhash, now=now, **names)


def in_batches(db, query, first, last, batch, **params):
    """Run an INSERT ... SELECT for the rows first..last, `batch` rows to a statement and a transaction."""
    for start in range(first, last + 1, batch):
        db.transaction(lambda tx, start=start: tx.run(query, first=start, last=min(start + batch - 1, last), **params))


def seed_events(db, count, now, users, active, heavy, admin):
    """Insert audit events 1..count (ids 1..count), two a second on average up to now (bench/queries.sql).

    Users 1..heavy get count / 101 of them between them (deep audit trails), users 1..active a
    third of the rest, and every user (1..users) the others: most a few, some tens.
    """
    width = max(map(len, EVENT_MIX))
    kinds = dict(events=cells([event for event, share in EVENT_MIX.items() for _ in range(share)], width),
                 event_width=width, t0=now - 3 * count - 3, users=users, active=active, heavy=heavy, admin=admin)
    in_batches(db, "seed_events", 1, count, EVENTS_BATCH, **kinds)


def seed_sessions(db, count, now, users):
    """Insert count live sessions, each of another user (bench/queries.sql seed_sessions)."""
    in_batches(db, "seed_sessions", 1, count, BATCH, now=now, users=users)


def events_schema(db) -> tuple:
    """Return (security_events' definition as the database gives it, [(index name, its definition)])."""
    if db.dialect == "sqlite":
        rows = db.all("events_schema_sqlite")
        indexes = [(row["name"], row["sql"]) for row in rows if row["type"] == "index" and row["sql"]]
        return [tuple(row.values()) for row in rows], indexes
    table = db.one("events_schema_mysql")["Create Table"]
    # "  KEY `security_events_at` (`at`)," (InnoDB lists them in the order they were made).
    indexes = re.findall(r"^  (KEY `(\w+)` \(.*\)),?$", table, re.MULTILINE)
    return re.sub(r" AUTO_INCREMENT=\d+", "", table), [(name, definition) for definition, name in indexes]


@contextlib.contextmanager
def events_indexes_dropped(db, seconds):
    """Drop security_events' secondary indexes for the block, then build them again; their time in seconds["indexes"].

    Bulk inserts into a table without them, then one sorted build per index, take a fraction
    of the time (10,000,000 events: see README). The schema after is checked to be the one
    before, word for word: the migrations' own.
    """
    before, indexes = events_schema(db)
    # Names and definitions come from the database's own schema, never from
    # outside. MariaDB drops, and builds, them all in one ALTER TABLE (one
    # pass over the table); SQLite builds one index at a time.
    if db.dialect == "sqlite":
        drops = [f"DROP INDEX {name}" for name, _ in indexes]
        adds = [definition for _, definition in indexes]
    else:
        drops = ["ALTER TABLE security_events " + ", ".join(f"DROP KEY `{name}`" for name, _ in indexes)]
        adds = ["ALTER TABLE security_events " + ", ".join(f"ADD {definition}" for _, definition in indexes)]
    for statement in drops:
        db.transaction(lambda tx, statement=statement: tx.script(statement), attempts=1)
    yield
    began = time.monotonic()
    for statement in adds:
        db.transaction(lambda tx, statement=statement: tx.script(statement), attempts=1)
    seconds["indexes"] = time.monotonic() - began
    after, _ = events_schema(db)
    if after != before:
        raise RuntimeError(f"security_events' schema changed:\n{before}\n->\n{after}")


def confirm_user(db, n, now):
    """Mark user n's email address as confirmed, as most users of a real site have done."""
    uid = db.one("user_uid_by_email", email=EMAIL % n)["uid"]
    db.transaction(lambda tx: tx.run("confirm_email", uid=uid, email=EMAIL % n, now=now))


def ceiling_session(db, uid, now) -> str:
    """Give user uid the session row the database-bound ceiling looks up; return its cookie value."""
    # The real sessions table rather than one of the benchmark's own: the
    # ceiling's SELECT then reads the very key the app's session lookup reads
    # (CHAR(64), ascii_bin on MariaDB, the primary key: the clustered index
    # in InnoDB, a B-tree with its own index in SQLite), with no second
    # definition of it to keep in step with the migrations. Inserted by the
    # app's own query, with a random id as a sign-in makes; the cookie is
    # the bare id, unsigned: only the ceiling, not wsgiauth, accepts it.
    value = secrets.token_urlsafe(SESSION_ID_BYTES)
    db.transaction(lambda tx: tx.run("insert_session", id_hash=hash_id(value), uid=uid, now=now,
                                     expires_at=now + 86_400, remember=0, ip="198.18.0.1",
                                     user_agent="python -m bench (the database-bound ceiling)"))
    return value


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
