"""Breached passwords (ASVS 5.0 6.2.12): new passwords checked against a local server speaking the Pwned
Passwords range API on loopback; only a 5-character prefix of the SHA-1 leaves, and an unreachable service
lets the password in."""

import hashlib
import http.server
import logging
import socket
import threading
import time

import pytest
from test_account import change_password
from test_cli import wsgiauth
from test_reset import ask, choose, reset_link
from werkzeug.test import Client

from wsgiauth.config import ConfigError, Settings
from wsgiauth.passwords import BREACHED, PWNED_TIMEOUT

from conftest import AuthActions, ClosingClient

LEAKED = "monkey123456"  # the server knows this one (long enough for the form's own rules)
CLEAN = "a clean pass phrase nobody has leaked"
WARNING = "Pwned Passwords check failed"


def sha1(password):
    """Return the upper-case hex SHA-1 of password, as the range API writes it."""
    return hashlib.sha1(password.encode("utf-8")).hexdigest().upper()


class RangeServer(http.server.ThreadingHTTPServer):
    """GET /range/PREFIX answered from a list of known passwords, padded; records each request's path and headers."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, known=(LEAKED,)):
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.known = [sha1(password) for password in known]
        self.requests = []
        self.status, self.body, self.sleep_once = 200, None, 0.0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """The range API's one endpoint."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, dict(self.headers)))
        if server.sleep_once:
            pause, server.sleep_once = server.sleep_once, 0.0
            time.sleep(pause)
        prefix = self.path.rsplit("/", 1)[-1]
        lines = [f"{digest[5:]}:{3861493}" for digest in server.known if digest.startswith(prefix)]
        # Padding as Add-Padding makes the real service send: made-up suffixes with a count of 0,
        # one of them the clean password's own, which must still count as not found.
        lines += ["0" * 35 + ":0", sha1(CLEAN)[5:] + ":0"]
        body = server.body if server.body is not None else "\r\n".join(lines).encode()
        self.send_response(server.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def range_server():
    """A Pwned Passwords range API on 127.0.0.1 that knows LEAKED."""
    server = RangeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def checked(make_app, range_server):
    """An app that checks new passwords against range_server."""
    return make_app(PWNED_PASSWORDS_URL=range_server.url)


def closed_port_url():
    """Return the address of a port on loopback where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_breached_password_is_refused_at_sign_up_and_only_a_prefix_leaves(checked, range_server, query):
    response = AuthActions(Client(checked)).signup(password=LEAKED)
    assert response.status_code == 200 and BREACHED in response.get_data(as_text=True)
    assert query("all_users_for_tests") == []
    [(path, headers)] = range_server.requests
    assert path == "/range/" + sha1(LEAKED)[:5]
    assert headers["Add-Padding"] == "true"
    # Neither the password nor anything of its hash beyond the 5-character prefix was sent.
    sent = path + repr(headers)
    assert LEAKED not in sent and sha1(LEAKED)[5:] not in sent and sha1(LEAKED)[5:].lower() not in sent


def test_a_clean_password_is_accepted_at_sign_up(checked, range_server, query):
    response = AuthActions(Client(checked)).signup(password=CLEAN)
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    assert [row["email"] for row in query("all_users_for_tests")] == ["ada@example.com"]
    assert [path for path, _ in range_server.requests] == ["/range/" + sha1(CLEAN)[:5]]


def test_a_breached_password_is_refused_on_password_change(checked, make_user, query):
    make_user(checked)
    browser = AuthActions(Client(checked))
    assert browser.signin().headers["Location"] == "/profile"
    before = query("all_users_for_tests")[0]["pwdhash"]
    refused = change_password(browser, LEAKED)
    assert refused.status_code == 200 and BREACHED in refused.get_data(as_text=True)
    assert query("all_users_for_tests")[0]["pwdhash"] == before
    assert change_password(browser, CLEAN).status_code == 303
    assert query("all_users_for_tests")[0]["pwdhash"] != before


def test_a_breached_password_is_refused_on_reset(make_app, make_user, range_server, smtp_server, query):
    app = make_app(MAIL_URL=smtp_server.url, PWNED_PASSWORDS_URL=range_server.url)
    make_user(app)
    stranger = AuthActions(ClosingClient(app))
    ask(stranger)
    link = reset_link(smtp_server)
    refused = choose(stranger, link, LEAKED)
    assert refused.status_code == 200 and BREACHED in refused.get_data(as_text=True)
    assert choose(stranger, link, CLEAN).status_code == 303


@pytest.mark.parametrize("trouble", ["closed port", "status 503", "garbage", "slow"])
def test_an_unreachable_service_lets_the_password_in_with_one_warning(make_app, range_server, query, caplog,
                                                                       trouble):
    url = range_server.url
    if trouble == "closed port":
        url = closed_port_url()
    elif trouble == "status 503":
        range_server.status = 503
    elif trouble == "garbage":
        range_server.body = b"<html>Maintenance</html>"
    else:
        range_server.sleep_once = PWNED_TIMEOUT + 0.5  # the module's own 2 s, not a lowered one
    app = make_app(PWNED_PASSWORDS_URL=url)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="wsgiauth.passwords"):
        response = AuthActions(Client(app)).signup(password=LEAKED)
    assert time.monotonic() - started < PWNED_TIMEOUT + 1.5
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    assert len(query("all_users_for_tests")) == 1
    warnings = [record.getMessage() for record in caplog.records if record.name == "wsgiauth.passwords"]
    assert len(warnings) == 1 and WARNING in warnings[0]
    assert LEAKED not in warnings[0] and sha1(LEAKED)[:5] not in warnings[0]


def test_off_by_default_no_request_is_made(app, range_server, query):
    assert Settings().PWNED_PASSWORDS_URL == ""
    response = AuthActions(Client(app)).signup(password=LEAKED)
    assert response.status_code == 303
    assert range_server.requests == []


def test_the_setting_must_be_an_http_address(make_app):
    with pytest.raises(ConfigError, match="WSGIAUTH_PWNED_PASSWORDS_URL must look like"):
        make_app(PWNED_PASSWORDS_URL="file:///etc/passwd")


def test_the_commands_refuse_a_breached_password(database_url, range_server, query):
    def run(*args, stdin):
        return wsgiauth(*args, "--password-stdin", database_url=database_url, stdin=stdin,
                        env={"WSGIAUTH_PWNED_PASSWORDS_URL": range_server.url})

    refused = run("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
                  stdin=LEAKED + "\n")
    assert refused.returncode != 0 and BREACHED in refused.stderr
    assert query("all_users_for_tests") == []
    assert run("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
               stdin=CLEAN + "\n").returncode == 0
    refused = run("set-password", "ada@example.com", stdin=LEAKED + "\n")
    assert refused.returncode != 0 and BREACHED in refused.stderr
    assert [path for path, _ in range_server.requests] == ["/range/" + sha1(LEAKED)[:5], "/range/" + sha1(CLEAN)[:5],
                                                           "/range/" + sha1(LEAKED)[:5]]
