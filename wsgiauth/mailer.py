"""Outgoing email: building messages and the backends chosen by WSGIAUTH_MAIL_URL."""

import copy
import email.policy
import ipaddress
import logging
import os
import re
import secrets
import smtplib
import ssl
import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .config import ConfigError

log = logging.getLogger("wsgiauth.mailer")

# Errors about one message (this recipient or this content was refused):
# the connection is still good for the next message.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
# Anything else (refused connection, timeout, TLS or login failure, a server
# that hung up) means the server is unusable right now.
SERVER_ERRORS = (smtplib.SMTPException, OSError)

_ADDRESS = re.compile(r"[^\s<>@:;,\"']+@")

# Header lines may be up to 998 characters (RFC 5322 2.1.1). The email
# package's default of 78 makes it fold long headers, and its folder breaks a
# long quoted display name in the middle: a Contact message from
# '"\"\"..."' reached the owner with a Reply-To of no address at all, and
# long non-ASCII names gained spaces. No header we write comes near 998.
POLICY = email.policy.default.clone(max_line_length=998)
# Bodies are encoded with lines of at most 76 characters, as RFC 2045 6.7
# asks of quoted-printable (the email package's encoder takes its limit from
# the policy, and its default of 78 is for headers).
BODY_POLICY = POLICY.clone(max_line_length=76)
# The same 998 octets bound a body line sent without a transfer encoding
# (RFC 5322 2.1.1, RFC 5321 4.5.3.1.6).
MAX_LINE_OCTETS = 998


def address(name: str, email: str) -> str:
    """Return "Name <email>" quoted as RFC 5322 requires; ValueError if email cannot be a header."""
    # Non-ASCII local parts need SMTPUTF8, which many servers lack; the
    # email package would also write them as invalid encoded words.
    if not email.isascii():
        raise ValueError("email address is not ASCII")
    try:
        return str(Address(display_name=name, addr_spec=email))
    except HeaderParseError as error:
        raise ValueError(str(error)) from None


def domain_of(addr: str) -> str:
    """Return the domain part of an address, the most of a recipient ever logged."""
    return parseaddr(addr)[1].rpartition("@")[2] or "?"


def new_message_id(mail_from: str) -> str:
    """Return a fresh, globally unique Message-ID in the sender's domain."""
    # Passing the domain avoids make_msgid's default, socket.getfqdn(),
    # which can wait seconds on DNS.
    return make_msgid(domain=domain_of(mail_from))


def build_message(*, mail_from, to, subject, body, message_id, date, reply_to=None) -> EmailMessage:
    """Return a plain-text UTF-8 EmailMessage (raises ValueError on CR/LF in a header)."""
    message = EmailMessage(policy=POLICY)
    # The email package refuses a header value containing CR or LF, so no
    # caller can inject a Bcc: line (header injection), whatever it passes.
    message["From"] = mail_from
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(date, usegmt=True)
    message["Message-ID"] = message_id
    # Quoted-printable keeps every line 7-bit and short, so any server
    # relays it unchanged: 8bit would need the server's 8BITMIME (RFC 6152),
    # which smtplib does not ask for. Mail programs decode it, links whole;
    # the file backend, read as text, writes unwrapped() instead. Encoded
    # under POLICY's 998, lines were up to 998 long, which strict servers and
    # spam filters hold against a message (SpamAssassin's MIME_QP_LONG_LINE).
    message.policy = BODY_POLICY
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    message.policy = POLICY  # for the headers, when the message is written out
    return message


def unwrapped(message: EmailMessage) -> EmailMessage:
    """Return a copy of a plain-text message with its body as written (7bit or 8bit), not quoted-printable.

    For the .eml files a developer reads: quoted-printable breaks lines at
    76 characters with a soft "=" break, so a reset link copied from the
    file was cut short (issue 17). A body with a line over 998 octets, which
    no protocol carries unencoded, is returned as it was.
    """
    text = message.get_content()
    if any(len(line) > MAX_LINE_OCTETS for line in text.encode("utf-8").splitlines()):
        return message
    readable = copy.deepcopy(message)
    readable.set_content(text, charset="utf-8", cte="7bit" if text.isascii() else "8bit")
    return readable


def describe_error(error: Exception) -> str:
    """Return a short, log-safe description of a delivery failure."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [f"{code} {reply.decode(errors='replace')}" for code, reply in error.recipients.values()]
        text = "Recipient refused: " + "; ".join(replies)
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        text = f"{type(error).__name__}: {error.smtp_code} {reply}"
    else:
        text = f"{type(error).__name__}: {error}"
    # Servers often quote the address they refused; keep only its domain.
    return _ADDRESS.sub("…@", " ".join(text.split()))[:500]


class FileBackend:
    """Write each message to an .eml file in a folder (development default)."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def describe(self) -> str:
        """Name this backend for logs."""
        return f"file://{self.folder}"

    def connect(self):
        """Return self: files need no connection."""
        return self

    def send(self, message: EmailMessage) -> str:
        """Write message to a new .eml file and return its path."""
        # Mode 0700/0600: these files will hold password-reset links.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{secrets.token_hex(4)}.eml"
        path = self.folder / name
        temporary = self.folder / ("." + name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            # Not quoted-printable as over SMTP: links stay whole on one line.
            file.write(bytes(unwrapped(message)))
        # Renamed only when complete: a reader never sees half a message.
        os.replace(temporary, path)
        log.info("Wrote mail to %s", path)
        return str(path)

    def close(self):
        """Nothing to close."""


class SMTPBackend:
    """Send through an SMTP server: plain (local relay), STARTTLS or implicit TLS."""

    def __init__(self, host, port, security, username, password, timeout):
        self.host = host
        self.port = port
        self.security = security  # "plain", "starttls" or "tls"
        self.username = username
        self.password = password
        self.timeout = timeout

    def describe(self) -> str:
        """Name this backend for logs (never the credentials)."""
        scheme = "smtps" if self.security == "tls" else "smtp"
        return f"{scheme}://{self.host}:{self.port} ({self.security})"

    def connect(self):
        """Return a connection that dials the server on its first send."""
        return SMTPConnection(self)

    def open(self) -> smtplib.SMTP:
        """Connect, secure and log in; return the ready smtplib client."""
        # Certificates and host names are verified (the default context): a
        # password is never sent to whoever answers on the network.
        context = ssl.create_default_context()
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                # Raises if the server does not offer STARTTLS: never fall
                # back to plain text silently (downgrade attack).
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


class SMTPConnection:
    """One SMTP session for a batch of messages, opened lazily."""

    def __init__(self, backend: SMTPBackend):
        self.backend = backend
        self.smtp = None

    def send(self, message: EmailMessage) -> None:
        """Send one message, connecting first if needed."""
        if self.smtp is None:
            self.smtp = self.backend.open()
        self.smtp.send_message(message)

    def close(self) -> None:
        """Say QUIT if connected; a dead connection is just dropped."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except SERVER_ERRORS:
                self.smtp.close()
            self.smtp = None


def _is_loopback(host: str) -> bool:
    """Say whether host is this machine (a password may then travel unencrypted)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def backend_from_url(url: str, timeout: float):
    """Return the backend WSGIAUTH_MAIL_URL names, or raise ConfigError."""
    if url.startswith("file://"):
        # file://instance/outbox is relative to the working directory,
        # file:///var/spool/wsgiauth absolute.
        folder = url[len("file://"):]
        if not folder:
            raise ConfigError("WSGIAUTH_MAIL_URL file:// needs a folder, e.g. file://instance/outbox")
        return FileBackend(folder)
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        # The URL may hold a password: the message names the scheme only.
        raise ConfigError(
            "WSGIAUTH_MAIL_URL must look like smtp://host:25, smtp://user:pass@host:587, "
            f"smtps://user:pass@host:465 or file://folder (got a {parts.scheme or 'schemeless'} URL)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("WSGIAUTH_MAIL_URL has an invalid port") from None
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if parts.scheme == "smtps":
        security, port = "tls", port or 465
    else:
        port = port or 25
        # Port 587 is the submission port, where STARTTLS is the norm (RFC 8314).
        starttls = options.get("starttls", "1" if port == 587 else "0")
        security = "starttls" if starttls == "1" else "plain"
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if username and security == "plain" and not _is_loopback(parts.hostname):
        raise ConfigError(
            "WSGIAUTH_MAIL_URL would send the mail password unencrypted: use port 587 "
            "(STARTTLS), add ?starttls=1, or use smtps://"
        )
    return SMTPBackend(parts.hostname, port, security, username, password, timeout)
