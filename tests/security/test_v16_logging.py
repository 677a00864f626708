"""ASVS 5.0 V16 Security Logging and Error Handling: UTC times, no forged lines, an untouchable trail, plain errors."""

import io
import json
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from wsgiauth.cleanup import cleanup
from wsgiauth.logs import JSONFormatter, TextFormatter

from conftest import ADA, TEST_SECRET_KEY
from support import ROOT, browser, signed_in, signin
from test_logging import ada_uid, dev_server, gunicorn, server_env, sign_in_and_read_the_log  # noqa: F401

UTC_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z INFO wsgiauth\.audit: security event \w+ ")
# A browser whose User-Agent tries to add a line of its own to the log.
FORGER = ("Firefox/128.0\r\n2030-01-01T00:00:00.000Z INFO wsgiauth.audit: security event signin uid=1"
          "\u2028security event account_delete uid=2\u0085")


@pytest.mark.parametrize("server", [gunicorn(), dev_server], ids=["gunicorn", "wsgiauth-serve"])
def test_16_2_2_text_log_lines_carry_the_time_in_utc(server, server_env, tmp_path):
    """ASVS 5.0 16.2.2 (L2): a text log line starts with its time in ISO 8601 UTC (Z), under a WSGI server
    (wsgiauth's own handler) and under `wsgiauth serve` (the command's logging)."""
    logged = sign_in_and_read_the_log(server, tmp_path, {**server_env, "TZ": "America/New_York"})
    times = [UTC_LINE.match(line) for line in logged.splitlines() if "security event" in line]
    assert len(times) == 3 and all(times), logged
    for match in times:
        at = datetime.fromisoformat(match[1]).replace(tzinfo=timezone.utc)
        assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=5)


@pytest.mark.both_databases
def test_16_4_1_a_user_agent_cannot_forge_a_log_line(app, make_user, query):
    """ASVS 5.0 16.4.1 (L2): line breaks in a User-Agent (CR, LF, U+2028, NEL) never start a new log line, in text
    or JSON, nor reach the table."""
    make_user()
    stream = io.StringIO()
    handlers = [logging.StreamHandler(stream), logging.StreamHandler(stream)]
    handlers[0].setFormatter(TextFormatter())
    handlers[1].setFormatter(JSONFormatter())
    logger = logging.getLogger("wsgiauth.audit")
    level = logger.level
    logger.setLevel(logging.INFO)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        signin(browser(app, agent=FORGER), password="not the password")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.setLevel(level)
    text_line, json_line = stream.getvalue().splitlines()
    assert UTC_LINE.match(text_line) and "security event signin_failed uid=1 " in text_line
    assert json.loads(json_line)["event"] == "signin_failed"
    (event,) = query("security_events_for_tests")
    assert not any(ch in event["user_agent"] for ch in "\r\n\u0085")


@pytest.mark.both_databases
def test_16_4_2_only_the_retention_deletes_a_security_event(app, make_user, query):
    """ASVS 5.0 16.4.2 (L2): no named query of the app updates or replaces a security event; the one that deletes is
    the retention's, of rows older than WSGIAUTH_AUDIT_RETENTION_DAYS (test_v14_data_protection.py), and deleting
    an account keeps its trail, through a cleanup too."""
    writers = {}
    for path in (ROOT / "sql").glob("queries*.sql"):
        for named in path.read_text(encoding="utf-8").split("-- name: ")[1:]:
            name, _, text = named.partition("\n")
            statement = " ".join(line for line in text.splitlines() if line and not line.startswith("--"))
            if re.search(r"\b(?:UPDATE|DELETE\s+FROM|REPLACE\s+INTO|TRUNCATE(?:\s+TABLE)?)\s+[`\"]?security_events\b",
                         statement, re.IGNORECASE):
                writers[path.name, name.strip()] = statement
    assert writers.keys() == {("queries.sqlite.sql", "delete_old_security_events"),
                              ("queries.mysql.sql", "delete_old_security_events")}
    for statement in writers.values():  # only rows older than the retention, never by uid or event
        assert re.fullmatch(r"DELETE FROM security_events WHERE (?:id IN \(SELECT id FROM security_events WHERE )?"
                            r"at < :before (?:ORDER BY at )?LIMIT :batch\)?;", statement), statement
    client = signed_in(app)
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    response = client.post("/account/delete", data={"delete_confirm": "DELETE", "csrf_token": token})
    assert response.status_code == 303 and query("all_users_for_tests") == []
    assert cleanup(app.db, app.settings)["security events"] == 0
    assert [(event["event"], event["uid"]) for event in query("security_events_for_tests")] == [
        ("signin", 1), ("account_delete", 1)]


@pytest.mark.both_databases
def test_16_5_1_a_database_error_gets_a_generic_page_without_query_or_traceback(app, caplog):
    """ASVS 5.0 16.5.1 (L2): a query that fails shows "Something went wrong" and nothing of the error: no SQL,
    no column, no traceback, no secret; the error goes to the log."""
    client = signed_in(app)
    app.db.queries["session_user"] = "SELECT no_such_column FROM sessions"
    with caplog.at_level(logging.ERROR, logger="wsgiauth"):
        response = client.get("/profile")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in page
    for leak in ("no_such_column", "SELECT", "sessions", "Traceback", "OperationalError", TEST_SECRET_KEY,
                 ADA["email"]):
        assert leak not in page, leak
    assert "no_such_column" in caplog.text
