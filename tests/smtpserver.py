"""A real SMTP server for tests: aiosmtpd on a free loopback port, stoppable and restartable."""

import asyncio
import contextlib
import email
import email.policy
import re
import ssl
import subprocess
import threading
import time
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from helpers import free_port

# The one account the TLS servers accept (AUTH is only offered over TLS).
LOGIN, PASSWORD = "mailer", "s3cret pass@word"


class Collector:
    """aiosmtpd handler that keeps every envelope it is given."""

    def __init__(self):
        self.envelopes = []
        self.logins = []  # (login, password) pairs the server accepted
        # Tests may hold deliveries inside DATA: `arrived` is set when one
        # is waiting, and nothing is accepted until `release` is set.
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.release.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Accept any recipient except those at refused.example (like an unknown mailbox)."""
        if address.endswith("@refused.example"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Accept a message (after the test releases it, if it holds deliveries)."""
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        """Accept the one account the tests configure."""
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (login, password) == (LOGIN, PASSWORD)
        if ok:
            self.logins.append((login, password))
        return AuthResult(success=ok)


class SMTPServer:
    """An aiosmtpd Controller that can be stopped and started again on the same port."""

    def __init__(self, tls=None, cert=None):
        self.port = free_port()
        self.handler = Collector()
        self.tls = tls  # None (plain), "starttls" or "implicit"
        self.cert = cert  # (certfile, keyfile) for TLS
        self.controller = None

    @property
    def url(self):
        """Return the WSGIAUTH_MAIL_URL for this server (plain SMTP)."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        """Listen on the port (again)."""
        # A Controller's event loop is closed by stop(), so each start needs a new one.
        options = {}
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.cert)
            options["authenticator"] = self.handler.authenticate
            if self.tls == "starttls":
                options.update(tls_context=context, require_starttls=True)
            else:
                # aiosmtpd only counts STARTTLS as TLS; here the whole connection is.
                options.update(ssl_context=context, auth_require_tls=False)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **options)
        self.controller.start()

    def stop(self):
        """Stop listening: connections are refused until start()."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for_messages(self, count, timeout=30.0):
        """Return the messages once count have arrived (mail leaves after the page is sent)."""
        deadline = time.monotonic() + timeout
        while len(self.handler.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    @property
    def messages(self):
        """Return every message received so far, parsed."""
        return [email.message_from_bytes(e.original_content or e.content, policy=email.policy.default)
                for e in self.handler.envelopes]


@contextlib.contextmanager
def serving(**options):
    """Run an SMTPServer(**options) until the block ends; yield it."""
    server = SMTPServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def text(message):
    """Return a received message's decoded body with LF line ends (SMTP sends CRLF)."""
    return message.get_content().replace("\r\n", "\n")


def link_in(message, prefix, base_url="http://localhost"):
    """Return the path of the link in message whose path starts with prefix (e.g. "/reset/")."""
    for url in re.findall(r"https?://\S+", text(message)):
        parts = urlsplit(url)
        if parts.path.startswith(prefix):
            # Absolute, on the configured WSGIAUTH_BASE_URL.
            assert f"{parts.scheme}://{parts.netloc}" == base_url, url
            return parts.path
    raise AssertionError(f"no {prefix} link in:\n{text(message)}")


def mail_to(server, address, subject):
    """Return the one message the server received for address with this subject."""
    found = [m for m in server.messages if m["To"] == address and m["Subject"] == subject]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in server.messages]
    return found[0]


def self_signed_cert(folder):
    """Write a self-signed certificate for localhost and 127.0.0.1; return (certfile, keyfile)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def wait_for_mail(server, address, subject, timeout=15.0):
    """Wait until the SMTP server has the one email to address with this subject; return it."""
    # The app sends its mail after the response, so it may land a moment
    # after the page that caused it.
    deadline = time.monotonic() + timeout
    while not any(m["To"] == address and m["Subject"] == subject for m in server.messages):
        if time.monotonic() > deadline:
            received = [(m["To"], m["Subject"]) for m in server.messages]
            raise AssertionError(f"no email {subject!r} to {address} within {timeout} s; received: {received}")
        time.sleep(0.05)
    return mail_to(server, address, subject)
