"""ASVS 5.0 V14 Data Protection: every table of the schema is classified in SECURITY.md."""

import base64
import logging
import re
import zlib

import pytest
from helpers import csrf_token_in

from wsgiauth import cleanup as cleanup_module

from conftest import AuthActions
from support import BACKTICKED, ROOT, browser, cookie_headers, inventory_table, signed_in, signin

CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?[`\"]?(\w+)", re.IGNORECASE)
DROP = re.compile(r"DROP TABLE (?:IF EXISTS )?[`\"]?(\w+)", re.IGNORECASE)


def test_14_1_1_every_table_of_the_schema_is_in_the_data_inventory():
    """ASVS 5.0 14.1.1, 14.1.2 (L2): SECURITY.md's data table classifies exactly the tables the migrations make
    (on both dialects), each with its protection, what is logged and how long it is kept."""
    for dialect in ("sqlite", "mysql"):
        created, dropped = set(), set()
        for path in sorted((ROOT / "sql" / "migrations").glob(f"*.{dialect}.sql")):
            sql = path.read_text(encoding="utf-8")
            created.update(CREATE.findall(sql))
            dropped.update(DROP.findall(sql))
        rows = inventory_table("Table")
        listed = {name for row in rows for name in BACKTICKED.findall(row[0])}
        assert listed == created - dropped, dialect
        assert all(len(row) == 5 and all(row) for row in rows)


DAY = 24 * 60 * 60
NOTE = {"name": "Ada Lovelace", "email": "ada@example.com", "subject": "A question", "message": "Hello."}


def delete_account(client):
    """Delete the signed-in account through its form, as its owner does."""
    token = csrf_token_in(client.get("/account").get_data(as_text=True))
    response = client.post("/account/delete", data={"delete_confirm": "DELETE", "csrf_token": token})
    assert response.status_code == 303


def send_note(client, deliver=True):
    """Post the Contact form; with deliver, let its mail be sent as a WSGI server's close() would."""
    token = csrf_token_in(client.get("/contact").get_data(as_text=True))
    response = client.post("/contact", data={**NOTE, "csrf_token": token})
    assert response.headers["Location"] == "/contact/sent"
    if deliver:
        response.close()  # the outbox hands the message to its delivery thread
        client.application.outbox.courier.wait()


@pytest.mark.both_databases
def test_14_2_4_cleanup_deletes_events_mail_and_contact_messages_older_than_their_retention(
        app, make_app, clock, query, monkeypatch, caplog):
    """ASVS 5.0 14.1.2, 14.2.4 (L2): `wsgiauth cleanup` deletes, in batches, security events (a deleted account's
    too), delivered mail and Contact messages older than their retention (400 days by default); younger rows,
    rows exactly 400 days old and mail still waiting to be sent stay; 0 days keeps everything."""
    start = clock()
    ada = signed_in(app)
    delete_account(signed_in(app, email="grace@example.com", firstname="Grace"))
    send_note(ada)
    app.outbox.deliver_due()  # the mail about the deleted account too
    send_note(ada, deliver=False)  # its mail is never delivered: it must stay, however old
    assert [(e["event"], e["uid"]) for e in query("security_events_for_tests")] == [
        ("signin", 1), ("signin", 2), ("account_delete", 2)]
    old_mail = {row["id"]: row["status"] for row in query("all_outbox_for_tests")}
    assert "sent" in old_mail.values() and list(old_mail.values())[-1] == "pending"
    clock.advance(300 * DAY)
    assert signin(browser(app)).status_code == 303
    send_note(ada, deliver=False)
    young = start + 300 * DAY
    app.outbox.deliver([row["id"] for row in query("all_outbox_for_tests") if row["created_at"] == young])
    clock.advance(100 * DAY)  # the first rows are now exactly 400 days old: not older
    monkeypatch.setattr(cleanup_module, "BATCH", 2)  # several batches, each its own transaction
    counts = cleanup_module.cleanup(app.db, app.settings)
    assert (counts["security events"], counts["sent mail"], counts["contact messages"]) == (0, 0, 0)
    clock.advance(1)
    keep = make_app(AUDIT_RETENTION_DAYS=0, CONTACT_RETENTION_DAYS=0)
    counts = cleanup_module.cleanup(keep.db, keep.settings)
    assert (counts["security events"], counts["sent mail"], counts["contact messages"]) == (0, 0, 0)
    assert len(query("security_events_for_tests")) == 4 and len(query("all_contact_messages_for_tests")) == 3
    with caplog.at_level(logging.INFO, logger="wsgiauth.cleanup"):
        counts = cleanup_module.cleanup(app.db, app.settings)
    sent = [mail_id for mail_id, status in old_mail.items() if status == "sent"]
    assert (counts["security events"], counts["sent mail"], counts["contact messages"]) == (3, len(sent), 2)
    assert [(e["event"], e["uid"], e["at"]) for e in query("security_events_for_tests")] == [("signin", 1, young)]
    assert [row["created_at"] for row in query("all_contact_messages_for_tests")] == [young]
    left = query("all_outbox_for_tests")
    assert [(row["created_at"], row["status"]) for row in left] == [(start, "pending")] + [
        (young, "sent")] * (len(left) - 1) and len(left) > 1
    assert "cleanup deleted 3 security event(s) older than 400 days" in caplog.text


@pytest.mark.both_databases
def test_14_2_4_the_retention_deletes_read_the_time_indexes(app):
    """ASVS 5.0 14.2.4 (L2): each batch of the retention finds its rows through the (at), (status, next_attempt_at)
    or (created_at) index, so a cleanup of a large table reads only what it deletes."""
    for query, index in (("delete_old_security_events", "security_events_at"),
                         ("delete_old_sent_mail", "outbox_due"),
                         ("delete_old_contact_messages", "contact_messages_created_at")):
        # The query's own text behind EXPLAIN (as bench/admin.py does), under a name of its own.
        prefix = "EXPLAIN QUERY PLAN " if app.db.dialect == "sqlite" else "EXPLAIN "
        app.db.queries["explain_for_tests"] = prefix + app.db.queries[query]
        plan = app.db.all("explain_for_tests", before=0, batch=1000)
        if app.db.dialect == "sqlite":
            assert any(index in row["detail"] for row in plan), plan
        else:
            assert [(row["key"], row["type"]) for row in plan] == [(index, "range")], plan


def readable(value: str) -> str:
    """Return what anyone holding a signed itsdangerous cookie can read of it: its payload, base64-decoded."""
    payload = value.split(".")[1] if value.startswith(".") else value.split(".")[0]  # a leading "." means zlib
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    # latin-1: every byte as it is (a session id is random bytes, not text)
    return (zlib.decompress(data) if value.startswith(".") else data).decode("latin-1")


@pytest.mark.both_databases
@pytest.mark.parametrize("confirm_first", [True, False], ids=["confirm-first", "signed-in-at-once"])
def test_14_3_3_no_cookie_of_a_sign_up_carries_the_address(make_app, confirm_first):
    """ASVS 5.0 14.3.3 (L2): after a sign-up, with or without WSGIAUTH_REQUIRE_CONFIRMED_EMAIL, no cookie the
    browser holds carries the address or name (a notice cookie is signed, not encrypted), and the next page still
    says what to do."""
    app = make_app(REQUIRE_CONFIRMED_EMAIL=confirm_first)
    client = browser(app)
    response = AuthActions(client).signup()
    cookies = dict(cookie.split(";")[0].split("=", 1) for cookie in cookie_headers(response))
    assert set(cookies) == ({"wsgiauth-notice"} if confirm_first else {"wsgiauth"})
    for name, value in cookies.items():
        if name == "wsgiauth":
            # The session cookie is a random id and its signature: nothing to decode (random bytes decoded
            # would hold an "@" now and then), so it is checked to be only that.
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", value), value
            continue
        seen = readable(value).lower()
        for personal in ("@", "ada", "lovelace", "example"):
            assert personal not in seen, (personal, seen)
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    if confirm_first:
        assert ("We have sent a link to the address you gave: please open it to confirm your email address, "
                "then sign in.") in shown
        refused = signin(client)  # signing in before confirming names the address, in the page only
        assert refused.status_code == 403 and "ada@example.com" in refused.get_data(as_text=True)
        assert "ada@example.com" not in " ".join(cookie_headers(refused))
    else:  # signed in: the notice is in the session's row, which may name the address
        assert "Welcome, Ada! We have sent a link to ada@example.com" in shown
