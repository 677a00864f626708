"""Logging under real WSGI servers that set up none: audit lines on stderr, as text or JSON; the two-line script."""

import io
import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import free_port

from wsgiauth.logs import JSONFormatter

from conftest import ADA, TEST_SECRET_KEY
from live import Browser, running

ROOT = Path(__file__).resolve().parent.parent
WRONG_PASSWORD = "not Ada's password at all"
STRANGER = "stranger.typed@example.net"  # an address with no account, typed at sign-in
EVENTS = ["signin_failed", "signin_failed", "signin"]  # what sign_in_and_read_the_log makes happen


def events_in(logged):
    """Return the audit event of each line of logged that has one, in any format."""
    return re.findall(r"security event (\w+)", logged)


def gunicorn(app="wsgiauth:create_app()"):
    """Return command(port): gunicorn serving app with one worker and its default logging."""
    return lambda port: [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", app]


def waitress(port):
    """Return the command that serves create_app() with waitress-serve on port."""
    return [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--call", "wsgiauth:create_app"]


def dev_server(port):
    """Return the command that runs `wsgiauth serve` (serve.py) on port."""
    return [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]


@pytest.fixture
def ada_uid(make_user):
    """Ada's uid: her account, stored directly in the test's database."""
    return make_user()


@pytest.fixture
def server_env(database_url, ada_uid):
    """The environment of a server on the test's database, with Ada's account and no logging settings."""
    return {"WSGIAUTH_DATABASE": database_url, "WSGIAUTH_SECRET_KEY": TEST_SECRET_KEY}


def sign_in_and_read_the_log(command, tmp_path, env):
    """Serve with command(port), fail to sign in twice, then sign in; return what the server wrote.

    Whatever the settings, that output never holds a password, a typed address, the secret key
    or a cookie's value.
    """
    port = free_port()
    log = tmp_path / "server.log"
    with running(command(port), port, env=env, cwd=tmp_path, log=log) as base_url:
        browser = Browser(base_url)
        for email in (STRANGER, ADA["email"]):
            status, _, page = browser.submit("/signin", {"email": email, "password": WRONG_PASSWORD})
            assert status == 200 and "Invalid e-mail or password" in page
        status, headers, _ = browser.submit("/signin", {"email": ADA["email"], "password": ADA["password"]})
        assert (status, headers["Location"]) == (303, "/profile")
    logged = log.read_text()
    secrets = [WRONG_PASSWORD, ADA["password"], STRANGER, ADA["email"], "stranger.typed", TEST_SECRET_KEY]
    secrets += [cookie.value for cookie in browser.cookies]
    assert [secret for secret in secrets if secret in logged] == []
    return logged


@pytest.mark.parametrize("server", [gunicorn(), waitress], ids=["gunicorn", "waitress"])
def test_audit_events_reach_the_servers_stderr_at_info_once_each(server, server_env, tmp_path):
    # Neither server configures Python logging for the app (waitress calls
    # basicConfig() once the app exists): each line must still appear, once.
    logged = sign_in_and_read_the_log(server, tmp_path, server_env)
    assert events_in(logged) == EVENTS, logged
    lines = [line for line in logged.splitlines() if "security event" in line]
    assert all(" INFO wsgiauth.audit: security event " in line for line in lines), logged


def test_json_log_lines_carry_event_uid_and_ip(server_env, ada_uid, tmp_path):
    logged = sign_in_and_read_the_log(gunicorn(), tmp_path, {**server_env, "WSGIAUTH_LOG_FORMAT": "json"})
    # gunicorn's own lines start with "[date]"; every other line is one JSON object.
    entries = [json.loads(line) for line in logged.splitlines() if not line.startswith("[")]
    audit = [entry for entry in entries if entry["logger"] == "wsgiauth.audit"]
    assert [(entry["event"], entry["uid"], entry["ip"]) for entry in audit] == [
        ("signin_failed", None, "127.0.0.1"), ("signin_failed", ada_uid, "127.0.0.1"), ("signin", ada_uid, "127.0.0.1")]
    for entry in audit:
        assert entry["level"] == "INFO" and entry["message"].startswith(f"security event {entry['event']} uid=")
        assert entry["time"].endswith("Z")
        at = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=5)


def test_log_level_warning_leaves_the_audit_lines_out(server_env, tmp_path):
    logged = sign_in_and_read_the_log(gunicorn(), tmp_path, {**server_env, "WSGIAUTH_LOG_LEVEL": "WARNING"})
    assert events_in(logged) == [] and "Booting worker" in logged


def test_the_operators_own_logging_configuration_wins(server_env, tmp_path):
    (tmp_path / "site_app.py").write_text(
        "import logging\nimport wsgiauth\n\n"
        "logging.basicConfig(level=logging.INFO, format='OPERATOR %(levelname)s %(name)s: %(message)s')\n"
        "application = wsgiauth.create_app()\n")
    # The operator's handler on the root logger writes every line; LOG_FORMAT
    # applies only to wsgiauth's own handler, which is not added.
    env = {**server_env, "WSGIAUTH_LOG_FORMAT": "json"}
    logged = sign_in_and_read_the_log(gunicorn("site_app:application"), tmp_path, env)
    lines = [line for line in logged.splitlines() if "security event" in line]
    assert [line.split()[:3] for line in lines] == [["OPERATOR", "INFO", "wsgiauth.audit:"]] * 3, logged


def test_a_second_create_app_reconfigures_the_one_handler(server_env, tmp_path):
    # The names of the environment variables work as dict keys too.
    (tmp_path / "twice.py").write_text(
        "import wsgiauth\n\n"
        "wsgiauth.create_app({'WSGIAUTH_LOG_FORMAT': 'text'})\n"
        "application = wsgiauth.create_app({'WSGIAUTH_LOG_FORMAT': 'json', 'WSGIAUTH_LOG_LEVEL': 'info'})\n")
    logged = sign_in_and_read_the_log(gunicorn("twice:application"), tmp_path, server_env)
    lines = [line for line in logged.splitlines() if "security event" in line]
    assert [json.loads(line)["event"] for line in lines] == EVENTS, logged


def test_a_two_line_wsgi_script_reads_a_settings_file(database_url, ada_uid, tmp_path, monkeypatch):
    # As under mod_wsgi, where SetEnv never reaches os.environ: no WSGIAUTH_* variable at all.
    for key in [key for key in os.environ if key.startswith("WSGIAUTH_")]:
        monkeypatch.delenv(key)
    settings = tmp_path / "settings.env"
    settings.write_text(f"# wsgiauth, read by site.wsgi\n\nWSGIAUTH_DATABASE={database_url}\n"
                        f"SECRET_KEY='{TEST_SECRET_KEY}'\nWSGIAUTH_LOG_FORMAT=json\n")
    settings.chmod(0o600)
    script = f"from wsgiauth import create_app\napplication = create_app({str(settings)!r})\n"
    (tmp_path / "site_wsgi.py").write_text(script)
    logged = sign_in_and_read_the_log(gunicorn("site_wsgi:application"), tmp_path, {})
    events = [json.loads(line)["event"] for line in logged.splitlines() if "security event" in line]
    assert events == EVENTS, logged


def test_wsgiauth_serve_logs_each_audit_event_once(server_env, tmp_path):
    # `wsgiauth serve` configures logging itself (basicConfig): create_app adds nothing.
    logged = sign_in_and_read_the_log(dev_server, tmp_path, server_env)
    assert events_in(logged) == EVENTS, logged


def test_a_json_line_keeps_a_traceback_on_its_one_line():
    # What an unhandled error in a request (app.py: log.exception) writes with LOG_FORMAT=json.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("wsgiauth.test_logging")
    logger.addHandler(handler)
    try:
        try:
            {}["missing"]
        except KeyError:
            logger.exception("Unhandled error in %s %s", "GET", "/profile")
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "wsgiauth.test_logging",
                                                                  "Unhandled error in GET /profile")
    assert "KeyError: 'missing'" in entry["traceback"] and "event" not in entry
