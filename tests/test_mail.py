"""The outbox and the mail backends: nothing lost when the server is down, nothing sent twice."""

import email
import email.policy
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.test import Client

from wsgiauth import ConfigError, create_app
from wsgiauth.config import Settings

import smtpserver
from conftest import TEST_CONTACT_TO, TEST_SECRET_KEY, AuthActions, ClosingClient
from test_contact import THANKS, ZOE, send


def queue(app, n=1, to=TEST_CONTACT_TO):
    """Enqueue n messages through the outbox API, in one transaction; return their ids."""
    return app.db.transaction(lambda tx: [app.outbox.enqueue(tx, to=to, subject=f"Test {i}", body=f"Body {i}: ü")
                                          for i in range(n)])


def deliver_mail(database_url, mail_url, *options, cwd):
    """Run `python -m wsgiauth deliver-mail` as cron would; return the CompletedProcess."""
    env = {**os.environ, "WSGIAUTH_DATABASE": database_url, "WSGIAUTH_MAIL_URL": mail_url}
    env.pop("WSGIAUTH_SECRET_KEY", None)  # cron needs no secret key
    return subprocess.run([sys.executable, "-m", "wsgiauth", "deliver-mail", *options],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def app_log(caplog):
    """Return what wsgiauth itself logged (not the test SMTP server's own chatter)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("wsgiauth"))


@pytest.mark.both_databases
def test_server_down_the_visitor_is_thanked_and_the_message_waits(mail_app, smtp_server, query, clock):
    smtp_server.stop()
    visitor = AuthActions(Client(mail_app))
    response = send(visitor)
    assert response.status_code == 303
    assert THANKS in visitor.client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(query("all_contact_messages_for_tests")) == 1
    (row,) = query("all_outbox_for_tests")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("ConnectionRefusedError")
    assert row["next_attempt_at"] == clock() + 60 and row["claim"] is None

    smtp_server.start()
    assert mail_app.outbox.deliver_due().sent == []  # still waiting out the retry delay
    clock.advance(60)
    report = mail_app.outbox.deliver_due()
    assert report.sent == [(row["id"], "example.org")] and report.failed == []
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "[Contact] " + ZOE["subject"]
    assert mail["Message-ID"] == row["message_id"]  # the same message, not a copy
    (row,) = query("all_outbox_for_tests")
    assert (row["status"], row["attempts"], row["last_error"], row["sent_at"]) == ("sent", 2, None, clock())
    assert mail_app.outbox.deliver_due(retry_now=True).sent == []
    assert len(smtp_server.messages) == 1


@pytest.mark.both_databases
def test_retries_back_off_exponentially_up_to_an_hour_and_never_give_up(mail_app, smtp_server, query, clock):
    smtp_server.stop()
    queue(mail_app)
    delays = []
    for _ in range(9):
        report = mail_app.outbox.deliver_due()
        assert len(report.failed) == 1
        (row,) = query("all_outbox_for_tests")
        delays.append(row["next_attempt_at"] - clock())
        clock.advance(delays[-1])
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert (row["status"], row["attempts"]) == ("pending", 9)


@pytest.mark.both_databases
def test_enqueue_is_part_of_the_callers_transaction(mail_app, query):
    def work(tx):
        mail_app.outbox.enqueue(tx, to="someone@example.org", subject="Hi", body="Hello")
        raise RuntimeError("the change that caused the mail failed")

    with pytest.raises(RuntimeError):
        mail_app.db.transaction(work)
    assert query("all_outbox_for_tests") == []


def test_enqueue_refuses_a_header_with_a_line_break(mail_app, query):
    with pytest.raises(ValueError):
        mail_app.db.transaction(lambda tx: mail_app.outbox.enqueue(tx, to="someone@example.org", body="x",
                                                                   subject="Hi\r\nBcc: victim@example.net"))
    assert query("all_outbox_for_tests") == []


@pytest.mark.both_databases
def test_server_down_stops_the_run_and_leaves_the_rest_untouched(mail_app, smtp_server, query):
    smtp_server.stop()
    ids = queue(mail_app, 3)
    report = mail_app.outbox.deliver_due()
    assert [f[0] for f in report.failed] == ids[:1] and report.not_tried == ids[1:]
    assert [row["attempts"] for row in query("all_outbox_for_tests")] == [1, 0, 0]


@pytest.mark.both_databases
def test_refused_recipient_fails_alone_and_its_address_is_not_logged(mail_app, smtp_server, query, caplog):
    caplog.set_level(logging.DEBUG, logger="wsgiauth")
    refused, accepted = queue(mail_app, to="nobody@refused.example")[0], queue(mail_app)[0]
    report = mail_app.outbox.deliver_due()
    assert [f[0] for f in report.failed] == [refused] and report.sent == [(accepted, "example.org")]
    rows = {row["id"]: row for row in query("all_outbox_for_tests")}
    assert rows[refused]["status"] == "pending"
    assert rows[refused]["last_error"].startswith("Recipient refused: 550 5.1.1 <…@refused.example>")
    assert "nobody" not in app_log(caplog) and "Body 0" not in app_log(caplog)
    assert "Mail #1 to a recipient at refused.example failed (attempt 1): Recipient refused" in app_log(caplog)


@pytest.mark.both_databases
def test_a_message_being_sent_is_not_sent_again_by_another_run(mail_app, smtp_server, query):
    # A request's delivery holds the message (the server is slow to accept
    # it) while cron runs deliver-mail: the claim makes cron skip it.
    smtp_server.handler.release.clear()
    response = AuthActions(Client(mail_app)).post_form("/contact", ZOE)
    request_delivery = threading.Thread(target=response.close)
    request_delivery.start()
    try:
        assert smtp_server.handler.arrived.wait(30)
        report = mail_app.outbox.deliver_due(retry_now=True)
        assert (report.sent, report.failed, report.not_tried) == ([], [], [])
    finally:
        smtp_server.handler.release.set()
        request_delivery.join(30)
        mail_app.outbox.courier.wait()
    assert len(smtp_server.messages) == 1
    assert query("all_outbox_for_tests")[0]["status"] == "sent"


@pytest.mark.both_databases
def test_two_simultaneous_runs_send_each_message_once(make_app, smtp_server, query):
    # Two app objects: two processes with their own connections.
    runs = [make_app(MAIL_URL=smtp_server.url) for _ in range(2)]
    ids = queue(runs[0], 20)
    start = threading.Barrier(2)
    reports = []

    def run(app):
        start.wait()
        reports.append(app.outbox.deliver_due())

    threads = [threading.Thread(target=run, args=(app,)) for app in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = sorted(mail_id for report in reports for mail_id, _ in report.sent)
    assert sent == ids
    message_ids = [mail["Message-ID"] for mail in smtp_server.messages]
    assert len(message_ids) == 20 and len(set(message_ids)) == 20
    assert {row["status"] for row in query("all_outbox_for_tests")} == {"sent"}


@pytest.mark.both_databases
def test_deliver_mail_command_retries_what_is_pending_and_never_twice(make_app, smtp_server, database_url,
                                                                     query, tmp_path):
    app = make_app(MAIL_URL=smtp_server.url, CLOCK=time.time)
    smtp_server.stop()
    assert send(AuthActions(Client(app))).status_code == 303
    smtp_server.start()

    waiting = deliver_mail(database_url, smtp_server.url, cwd=tmp_path)
    assert waiting.returncode == 0, waiting.stderr
    assert "Sent 0, failed 0, not tried 0; 1 waiting to be retried" in waiting.stdout
    assert smtp_server.messages == []

    now = deliver_mail(database_url, smtp_server.url, "--now", cwd=tmp_path)
    assert now.returncode == 0, now.stderr
    assert "Sent #1 to a recipient at example.org" in now.stdout
    assert "Sent 1, failed 0, not tried 0; none waiting" in now.stdout
    assert len(smtp_server.messages) == 1

    for _ in range(2):
        again = deliver_mail(database_url, smtp_server.url, "--now", cwd=tmp_path)
        assert again.returncode == 0 and "Sent 0, failed 0" in again.stdout
    assert len(smtp_server.messages) == 1
    assert query("all_outbox_for_tests")[0]["attempts"] == 2


def test_deliver_mail_command_reports_failures_and_exits_non_zero(make_app, smtp_server, database_url, tmp_path):
    queue(make_app(MAIL_URL=smtp_server.url, CLOCK=time.time), 2)
    smtp_server.stop()
    result = deliver_mail(database_url, smtp_server.url, cwd=tmp_path)
    assert result.returncode == 1
    assert "Failed #1 to a recipient at example.org (attempt 1, next try after " in result.stdout
    assert "ConnectionRefusedError" in result.stdout
    assert "Not tried: 1 message(s), the mail server is unusable right now" in result.stdout


def test_deliver_mail_command_explains_a_bad_mail_url(database_url, tmp_path):
    result = deliver_mail(database_url, "http://user:hunter2@example.org", cwd=tmp_path)
    assert result.returncode == 2
    assert "WSGIAUTH_MAIL_URL must look like" in result.stderr and "hunter2" not in result.stderr


def read_eml(path):
    """Parse an .eml file written by the file backend."""
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_file_backend_writes_a_readable_eml_file(make_app, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="wsgiauth")
    folder = tmp_path / "mail"
    send(AuthActions(Client(make_app(MAIL_URL=f"file://{folder}"))))
    (path,) = folder.iterdir()
    assert path.suffix == ".eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # later mails carry reset links
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    mail = read_eml(path)
    assert (mail["To"], mail["Subject"]) == (TEST_CONTACT_TO, "[Contact] " + ZOE["subject"])
    assert "Das Formular funktioniert: ünïcödé, 日本語, emoji 🙂." in mail.get_content()
    assert f"Wrote mail to {path}" in app_log(caplog)


def test_default_mail_url_writes_to_instance_outbox_under_the_working_directory(make_app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings.MAIL_URL == "file://instance/outbox"
    send(AuthActions(Client(make_app(MAIL_URL=Settings.MAIL_URL))))
    (path,) = (tmp_path / "instance" / "outbox").iterdir()
    assert read_eml(path)["Reply-To"].addresses[0].addr_spec == "zoe@example.com"


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost."""
    return smtpserver.self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls, url", [
    ("starttls", "smtp://{login}:{password}@127.0.0.1:{port}?starttls=1"),
    ("implicit", "smtps://{login}:{password}@127.0.0.1:{port}"),
])
def test_tls_and_login(make_app, certificate, monkeypatch, caplog, query, tls, url):
    # The client verifies the certificate: trust the test one like a real CA.
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
    caplog.set_level(logging.DEBUG, logger="wsgiauth")
    server = smtpserver.SMTPServer(tls=tls, cert=certificate)
    server.start()
    try:
        app = make_app(MAIL_URL=url.format(login=smtpserver.LOGIN, password=quote(smtpserver.PASSWORD, safe=""),
                                           port=server.port))
        send(AuthActions(Client(app)))
        assert server.handler.logins == [(smtpserver.LOGIN, smtpserver.PASSWORD)]
        assert len(server.messages) == 1
    finally:
        server.stop()
    assert query("all_outbox_for_tests")[0]["status"] == "sent"
    assert "sent to a recipient at example.org" in app_log(caplog)
    for secret in (smtpserver.PASSWORD, quote(smtpserver.PASSWORD, safe="")):
        assert secret not in app_log(caplog)


def test_untrusted_certificate_is_refused(make_app, certificate, query):
    server = smtpserver.SMTPServer(tls="implicit", cert=certificate)
    server.start()
    try:
        app = make_app(MAIL_URL=f"smtps://{smtpserver.LOGIN}:pw@127.0.0.1:{server.port}")
        send(AuthActions(Client(app)))
        assert server.handler.logins == [] and server.messages == []
    finally:
        server.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in query("all_outbox_for_tests")[0]["last_error"]


def test_starttls_is_required_when_asked_for(make_app, smtp_server, query):
    # A server (or an attacker in the middle) that offers no STARTTLS gets nothing in plain text.
    app = make_app(MAIL_URL=smtp_server.url + "?starttls=1")
    send(AuthActions(Client(app)))
    assert smtp_server.messages == []
    assert "STARTTLS" in query("all_outbox_for_tests")[0]["last_error"]


def test_silent_server_is_given_up_on_after_the_timeout(make_app, query):
    with socket.socket() as silent:  # accepts connections (backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        app = make_app(MAIL_URL=f"smtp://127.0.0.1:{silent.getsockname()[1]}", MAIL_TIMEOUT=1)
        response = send(AuthActions(Client(app)))
    assert response.status_code == 303
    (row,) = query("all_outbox_for_tests")
    assert row["status"] == "pending" and "timed out" in row["last_error"]


@pytest.mark.parametrize("url, message", [
    ("http://user:hunter2@mail.example.org", "WSGIAUTH_MAIL_URL must look like"),
    ("smtp://user:hunter2@mail.example.org:25", "would send the mail password unencrypted"),
    ("smtp://mail.example.org:notaport", "invalid port"),
    ("file://", "needs a folder"),
])
def test_bad_mail_urls_are_explained_without_the_password(database_url, url, message):
    with pytest.raises(ConfigError, match=message) as error:
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "MAIL_URL": url,
                    "MAIL_FROM": "noreply@example.org", "CONTACT_TO": "owner@example.org",
                    "BASE_URL": "https://example.org"})
    assert "hunter2" not in str(error.value)


def test_real_mail_needs_real_addresses(database_url):
    with pytest.raises(ConfigError, match="set WSGIAUTH_MAIL_FROM and WSGIAUTH_CONTACT_TO"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "MAIL_URL": "smtp://127.0.0.1:25"})


def test_mail_settings_come_from_the_environment(database_url, smtp_server, monkeypatch):
    for name, value in {"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "MAIL_URL": smtp_server.url,
                        "MAIL_FROM": "Site <site@example.net>", "CONTACT_TO": "desk@example.net",
                        "MAIL_TIMEOUT": "3", "BASE_URL": "https://example.net"}.items():
        monkeypatch.setenv("WSGIAUTH_" + name, value)
    app = create_app()
    try:
        assert app.outbox.backend.timeout == 3
        send(AuthActions(Client(app)))
    finally:
        app.db.close()
    (mail,) = smtp_server.messages
    assert (mail["From"], mail["To"]) == ("Site <site@example.net>", "desk@example.net")


def test_eml_files_keep_a_reset_link_on_one_line_and_it_works(make_app, make_user, tmp_path):
    # Issue 17: quoted-printable cut the link at 76 characters with a soft
    # "=" break, and the part a developer copied was "This link does not work".
    app = make_app()  # the file:// outbox, as in development
    make_user(app)
    browser = AuthActions(ClosingClient(app))
    assert browser.post_form("/forgot", {"email": "ada@example.com"}).status_code == 303
    (path,) = (tmp_path / "outbox").iterdir()
    raw = path.read_text(encoding="utf-8")
    (line,) = [line for line in raw.splitlines() if "/reset/" in line]
    url = re.fullmatch(r"\s*(https?://\S+)\s*", line).group(1)
    assert len(url) > 76 and "=\n" not in raw  # long enough that quoted-printable would have cut it
    mail = read_eml(path)
    assert mail["Content-Transfer-Encoding"] in ("7bit", "8bit")
    assert url in mail.get_content()  # the same link a mail program shows
    page = browser.open_link(urlsplit(url).path)
    assert page.status_code == 200 and 'name="password2"' in page.get_data(as_text=True)


def test_eml_files_are_utf_8_text_and_only_an_overlong_line_is_still_encoded(app, tmp_path):
    folder = tmp_path / "outbox"
    long_line = "x" * 1000  # over the 998 octets a line may have unencoded
    app.db.transaction(lambda tx: app.outbox.enqueue(tx, to=TEST_CONTACT_TO, subject="Short", body="Grüße, Zoë\n"))
    app.outbox.deliver_due()
    (short,) = folder.iterdir()
    assert "Grüße, Zoë" in short.read_text(encoding="utf-8")
    short.unlink()
    app.db.transaction(lambda tx: app.outbox.enqueue(tx, to=TEST_CONTACT_TO, subject="Long", body=long_line))
    app.outbox.deliver_due()
    (long,) = folder.iterdir()
    mail = read_eml(long)
    assert mail["Content-Transfer-Encoding"] == "quoted-printable"
    assert mail.get_content().rstrip("\n") == long_line


def test_smtp_bodies_are_quoted_printable_in_lines_of_76_at_most(mail_app, smtp_server):
    # 7-bit, as any server relays it (8bit would need the server's 8BITMIME),
    # and no line longer than RFC 2045 6.7 allows quoted-printable.
    link = "https://example.org/reset/" + "AbC-_9" * 30
    body = f"Grüße, Zoë\n\n{link}\n"
    mail_app.db.transaction(lambda tx: mail_app.outbox.enqueue(tx, to=TEST_CONTACT_TO, subject="Link", body=body))
    assert len(mail_app.outbox.deliver_due().sent) == 1
    (envelope,) = smtp_server.handler.envelopes
    raw = envelope.original_content
    assert raw.isascii() and max(map(len, raw.split(b"\r\n\r\n", 1)[1].splitlines())) <= 76
    (mail,) = smtp_server.messages
    assert mail["Content-Transfer-Encoding"] == "quoted-printable"
    assert mail.get_content().replace("\r\n", "\n") == body  # a mail program shows the link whole
