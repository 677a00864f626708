"""The app under real servers: `python serve.py` on a fresh directory, and gunicorn."""

import os
import queue
import re
import socket
import stat
import struct
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers import csrf_token_in, free_port

from conftest import TEST_CONTACT_TO, TEST_MAIL_FROM, TEST_PASSWORD_METHOD
from live import Browser, running

ROOT = Path(__file__).resolve().parent.parent
ADA = {"firstname": "ada", "lastname": "lovelace", "email": "Ada@Example.com", "password": "correct horse"}


def sign_up_out_and_in(base_url):
    """Walk the core journey over real HTTP and check each step."""
    browser = Browser(base_url)
    status, headers, _ = browser.submit("/signup", ADA)
    assert (status, headers["Location"]) == (303, "/profile")
    status, _, page = browser.request("/profile")
    assert status == 200 and "This is ada@example.com's profile page" in page and "Ada Lovelace" in page
    status, headers, _ = browser.submit("/signout", {})
    assert (status, headers["Location"]) == (303, "/")
    assert browser.request("/profile")[0] == 303
    status, headers, _ = browser.submit("/signin", {"email": "ada@example.com", "password": "correct horse"})
    assert (status, headers["Location"]) == (303, "/profile")
    return browser


def test_serve_py_runs_with_no_configuration(tmp_path, monkeypatch):
    for key in [key for key in os.environ if key.startswith("WSGIAUTH_")]:
        monkeypatch.delenv(key)  # running() passes os.environ on: no settings at all
    port = free_port()
    env = {}
    command = [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]
    with running(command, port, env=env, cwd=tmp_path) as base_url:
        browser = sign_up_out_and_in(base_url)
        # No version numbers for someone looking for a known hole (issue 11).
        assert browser.request("/")[1]["Server"] == "wsgiauth"
    secret = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 43
    assert (tmp_path / "instance" / "wsgiauth.db").exists()
    # Restarted, it keeps the same key and database: the user stays signed in.
    with running(command, port, env=env, cwd=tmp_path) as base_url:
        browser.base_url = base_url
        assert browser.request("/profile")[0] == 200


def first_line(process, timeout=30.0):
    """Return the first line the process writes on stdout, or fail with its stderr if none comes in time."""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line on stdout within {timeout} s") from None


def test_serve_prints_its_url_once_bound_and_a_taken_port_is_one_line(tmp_path):
    # Issue 17: it used to print "running on" first and then fail with
    # "Address already in use"; Werkzeug printed a second URL too.
    env = {key: value for key, value in os.environ.items() if not key.startswith("WSGIAUTH_")}
    port = free_port()
    log = tmp_path / "first.log"
    with open(log, "w") as stderr:
        first = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), "--port", str(port)], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        line = first_line(first)
        url = f"http://localhost:{port}/"
        assert line == f" * wsgiauth is running on {url} (development server; Ctrl+C to stop)\n", log.read_text()
        # Printed once the port is bound (and the app made): it answers at once.
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and "wsgiauth" in response.read().decode()

        elsewhere = tmp_path / "second"
        elsewhere.mkdir()
        second = subprocess.run([sys.executable, "-m", "wsgiauth", "serve", "--port", str(port)], cwd=elsewhere,
                                env=env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 2
        assert second.stdout == ""  # no URL: it is the first server's
        assert second.stderr == (f"wsgiauth serve: port {port} on 127.0.0.1 is already in use (another wsgiauth "
                                 f"serve?); stop that program or pick another port, e.g. --port {port + 1}\n")
        assert not (elsewhere / "instance").exists()  # it gave up before making anything
    finally:
        first.terminate()
        rest = first.communicate(timeout=15)[0]
    # The first one printed its URL once, and Werkzeug's banner never.
    assert "running on" not in rest.lower() and "Running on" not in log.read_text(), (rest, log.read_text())


def post_and_reset(port, path, form, cookies):
    """POST form over a raw socket, read the whole response, then drop the connection with a reset."""
    body = urllib.parse.urlencode(form).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookies}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(65536)
        headers, _, content = response.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", headers, re.I).group(1))
        while len(content) < length:
            content += sock.recv(65536)
        # Linger 0: close() sends RST instead of FIN, as Chromium does with a
        # connection it is done with (e.g. after following a redirect).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return headers.decode()


def test_serve_py_sends_the_mail_when_the_browser_resets_the_connection(tmp_path, smtp_server):
    # Werkzeug's server reads the socket once more after the response, and
    # when that read fails it skips close(), where the queued mail is sent.
    port = free_port()
    env = {"WSGIAUTH_MAIL_URL": smtp_server.url, "WSGIAUTH_MAIL_FROM": TEST_MAIL_FROM,
           "WSGIAUTH_CONTACT_TO": TEST_CONTACT_TO, "WSGIAUTH_PASSWORD_METHOD": TEST_PASSWORD_METHOD,
           "WSGIAUTH_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]
    with running(command, port, env=env, cwd=tmp_path, log=tmp_path / "server.log"):
        browser = Browser(f"http://127.0.0.1:{port}")
        token = csrf_token_in(browser.request("/contact")[2])
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies)
        form = {"name": "Zoë", "email": "zoe@example.com", "subject": "Hi", "message": "Hello", "csrf_token": token}
        headers = post_and_reset(port, "/contact", form, cookies)
        assert headers.startswith("HTTP/1.1 303") and "Location: /contact/sent" in headers
        assert len(smtp_server.wait_for_messages(1)) == 1, (tmp_path / "server.log").read_text()


@pytest.mark.both_databases
def test_gunicorn_serves_the_app(database_url):
    port = free_port()
    env = {
        "WSGIAUTH_DATABASE": database_url,
        "WSGIAUTH_SECRET_KEY": "gunicorn-test-secret-key-0123456789abcdef",
        "WSGIAUTH_PASSWORD_METHOD": "pbkdf2:sha256:1000",
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "wsgiauth:create_app()"]
    with running(command, port, env=env, cwd=ROOT) as base_url:
        sign_up_out_and_in(base_url)


def test_serve_py_request_log_never_shows_a_token(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WSGIAUTH_")}
    command = [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]
    log = tmp_path / "serve.log"
    with running(command, port, env=env, cwd=tmp_path, log=log) as base_url:
        browser = Browser(base_url)
        for path in ("/reset/SECRET-1.abc", "/confirm/SECRET-2", "/account/email/SECRET-3?x=1",
                     "/res%65t/SECRET-4", "//confirm/SECRET-5"):
            browser.request(path)
        # A malformed request line is logged whole, in an error message.
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"GET /reset/SECRET-6 HTTP/1.1 junk\r\n\r\n")
            raw.recv(4096)
        browser.request("/about")  # the log is written in order: this line comes last
    logged = log.read_text()
    assert '"GET /about HTTP/1.1" 200' in logged
    assert "SECRET" not in logged
    for shown in ("/reset/<token>", "/confirm/<token>", "/account/email/<token>"):
        assert shown in logged
