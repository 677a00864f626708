"""The development server (`wsgiauth serve`, `python serve.py`): instance/ with SQLite and a secret key, and Werkzeug.

With no configuration at all it keeps everything under ./instance/ (the working directory's,
on purpose: it is the developer's own): an SQLite database and a secret key generated on first
run. Production runs under a real WSGI server instead (see the README): `gunicorn
'wsgiauth:create_app()'`.
"""

import errno
import logging
import os
import re
import secrets
import socket
from pathlib import Path
from urllib.parse import unquote

from werkzeug.serving import WSGIRequestHandler, get_sockaddr, make_server, select_address_family

from . import create_app
from .config import read_settings
from .db import Database
from .migrations import migrate
from .routes import url_map

INSTANCE = Path("instance")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# "/confirm/", "/reset/", "/account/email/": every URL whose rule has a
# <token>, so a new kind of link is covered without touching this file.
TOKEN_PREFIXES = sorted(rule.rule.split("<token>")[0] for rule in url_map().iter_rules()
                        if "token" in rule.arguments)
TOKEN_PATH = re.compile("(" + "|".join(map(re.escape, TOKEN_PREFIXES)) + r")[^/?#\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Return text with every token in a URL path replaced by <token>, e.g. /reset/<token>."""
    # Matched on the percent-decoded text too, so /res%65t/... hides nothing.
    decoded = unquote(text)
    return TOKEN_PATH.sub(r"\1<token>", decoded) if TOKEN_PATH.search(decoded) else text


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, but its log never shows the token of a reset or confirmation link."""

    def version_string(self):
        """Name the server in the Server header without the Werkzeug and Python versions."""
        # Version numbers only help someone looking for a known hole (OWASP
        # ASVS 14.3.3: no version details in headers).
        return "wsgiauth"

    def log(self, type, message, *args):
        """Log like Werkzeug, with tokens taken out of the request line and error messages."""
        # A token in a log is a live password-reset link for whoever reads
        # the log (OWASP Logging Cheat Sheet: never log session ids or tokens).
        super().log(type, message, *(redact(arg) if isinstance(arg, str) else arg for arg in args))


def instance_secret_key(instance: Path) -> str:
    """Return the development secret key kept in instance/, creating it once (mode 0600)."""
    path = instance / "secret_key"
    try:
        # O_EXCL: never overwrite an existing key (that would sign everyone
        # out); mode 0600 from the start, not chmod afterwards (no race).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="ascii").strip()


def closed_once_sent(app):
    """Wrap a WSGI app so each response is closed as soon as its last byte is handed over."""
    # PEP 3333 says the server must call close() on every response, even when
    # the client went away. Werkzeug's development server reads the socket once
    # more after the response, and if the browser has already reset the
    # connection (Chromium does, after a redirect) that read raises and close()
    # is skipped. close() is where a request hands the mail it queued to the
    # outbox's delivery thread, so the mail would wait for `deliver-mail`;
    # here close() runs either way.
    def wrapped(environ, start_response):
        iterable = app(environ, start_response)
        try:
            yield from iterable
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wrapped


class CannotListen(Exception):
    """The port cannot be had (in use, not allowed, no such address); said in one line, with the way out."""


def listen(host: str, port: int) -> socket.socket:
    """Return a socket bound to host:port and listening, or raise CannotListen."""
    # Bound here, before anything is prepared or printed: Werkzeug's own
    # bind prints two lines and exits with status 1 after we would have
    # announced a URL that is someone else's.
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As socketserver does (allow_reuse_address): a restart does not wait
        # for the last run's connections in TIME_WAIT. Linux still refuses a
        # port another socket listens on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(socket.SOMAXCONN)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is already in use (another wsgiauth serve?); "
                               f"stop that program or pick another port, e.g. --port {port + 1}") from None
        raise CannotListen(f"cannot listen on {host} port {port}: {error.strerror or error}; "
                           "pick another address with --host or another port with --port") from None
    return sock


def serve(host: str, port: int) -> None:
    """Bind the port, prepare instance/, apply migrations, print the URL once and serve with Werkzeug."""
    sock = listen(host, port)
    try:
        INSTANCE.mkdir(mode=0o700, exist_ok=True)
        settings = read_settings()  # the environment and WSGIAUTH_SETTINGS_FILE, as create_app reads them
        config = {} if settings.SECRET_KEY else {"SECRET_KEY": instance_secret_key(INSTANCE)}
        if not settings.BASE_URL and host in LOOPBACK:
            # Passkeys need the site's address (its host is the RP ID), and
            # browsers accept localhost, never an IP address, as an RP ID.
            config["BASE_URL"] = f"http://localhost:{port}"
        db = Database(settings.DATABASE)
        for name in migrate(db):
            logging.getLogger("wsgiauth").info("applied migration %s", name)
        db.close()

        app = create_app(config)
        # fd: Werkzeug serves on (a duplicate of) the socket bound above.
        server = make_server(host, port, closed_once_sent(app), threaded=True,
                             request_handler=RedactingRequestHandler, fd=sock.fileno())
    finally:
        sock.close()
    url = (config.get("BASE_URL") or f"http://{host}:{port}") + "/"
    # The one line with the URL (Werkzeug's own banner, log_startup, is not
    # called: it would name 127.0.0.1, where passkeys do not work).
    print(f" * wsgiauth is running on {url} (development server; Ctrl+C to stop)", flush=True)
    server.serve_forever()  # returns on Ctrl+C, having closed the socket
