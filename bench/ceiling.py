"""The two ceilings, the yardsticks for wsgiauth's pages: the fastest page a Werkzeug app can serve, and that
page after the one database round trip every server-side session needs."""

import os

from werkzeug.wrappers import Request, Response

from wsgiauth.app import SECURITY_HEADERS
from wsgiauth.db import Database
from wsgiauth.sessions import hash_id

from . import QUERIES

HEAD = b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ceiling</title></head><body><p>"
TAIL = b"</p></body></html>\n"
# The cookie the database-bound ceiling reads: its value's SHA-256 is the
# key of the session row seed.ceiling_session made.
COOKIE = "bench-ceiling"


def page(size: int) -> bytes:
    """Return an HTML page of exactly `size` bytes (at least the bare markup)."""
    return HEAD + b"x" * max(0, size - len(HEAD) - len(TAIL)) + TAIL


def path(size: int) -> str:
    """Return the path at which both ceilings answer with a `size`-byte page."""
    return f"/{size}"


def pages():
    """Return a function answering a request with its path's page (GET /2791: 2,791 bytes), or None."""
    # Each case's ceiling sends a page of that case's size: one server per
    # ceiling serves every size, each page made once per worker.
    made = {}
    # The same headers as wsgiauth's pages, so that both send the same
    # response and the difference is only the work behind it.
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

    def respond(request):
        """Return the page the path names as a Response, or None for a path that names none."""
        body = made.get(request.path)
        if body is None:
            digits = request.path[1:]
            if not (digits.isdigit() and len(digits) <= 6):
                return None
            body = made[request.path] = page(int(digits))
        return Response(body, content_type="text/html; charset=utf-8", headers=headers)

    return respond


def not_found():
    """Answer a request no ceiling page matches, or one without the seeded session: 404."""
    return Response("No such page or session.\n", status=404, content_type="text/plain; charset=utf-8")


def create_app():
    """Return the page ceiling: a WSGI app answering GET /<size> with a page of that many bytes."""
    respond = pages()

    def app(environ, start_response):
        """Answer like any Werkzeug app, minus the database, session and template work."""
        request = Request(environ)
        response = respond(request) or not_found()
        return response(environ, start_response)

    return app


def create_database_bound(url=None):
    """Return the database-bound ceiling: the page ceiling plus a primary-key SELECT of the cookie's session row."""
    # wsgiauth.db.Database, as the app's: a connection per process (each
    # gunicorn worker loads the app after the fork and opens it at its first
    # request) kept in the pool, the same driver (sqlite3 / PyMySQL) and the
    # same lone read without BEGIN/COMMIT (Database.one) as the session lookup.
    db = Database(url or os.environ["WSGIAUTH_DATABASE"], query_files=[QUERIES])
    respond = pages()

    def app(environ, start_response):
        """Answer 200 with the page only if the cookie's session row is found; else 404."""
        request = Request(environ)
        value = request.cookies.get(COOKIE, "")
        response = None
        if value.isascii() and value:
            # The key as wsgiauth keys sessions: the SHA-256 of the id, 32
            # bytes written as the 64 hex digits of sessions.id_hash. A
            # ceiling that skipped the round trip would be no ceiling, so
            # nothing is answered without the row.
            if db.one("ceiling_session", id_hash=hash_id(value)):
                response = respond(request)
        response = response or not_found()
        return response(environ, start_response)

    return app
