"""The ceiling: the fastest page a Werkzeug app can serve, the yardstick for wsgiauth's pages."""

from werkzeug.wrappers import Request, Response

from wsgiauth.app import SECURITY_HEADERS

HEAD = b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ceiling</title></head><body><p>"
TAIL = b"</p></body></html>\n"


def page(size: int) -> bytes:
    """Return an HTML page of exactly `size` bytes (at least the bare markup)."""
    return HEAD + b"x" * max(0, size - len(HEAD) - len(TAIL)) + TAIL


def create_app(size: int = 4096):
    """Return a WSGI app answering every request with the same `size`-byte page."""
    body = page(size)
    # The same headers as wsgiauth's pages, so that both send the same
    # response and the difference is only the work behind it.
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

    def app(environ, start_response):
        """Answer like any Werkzeug app, minus the database, session and template work."""
        Request(environ)
        response = Response(body, content_type="text/html; charset=utf-8", headers=headers)
        return response(environ, start_response)

    return app
