"""The Contact page as a visitor sees it, and its mail as a real SMTP server receives it."""

import re
import sys
import time

import pytest
from helpers import free_port
from werkzeug.test import Client

from conftest import TEST_CONTACT_TO, TEST_MAIL_FROM, TEST_SECRET_KEY, AuthActions
from live import Browser, running
from smtpserver import text

THANKS = "Thank you for your message. We'll get back to you shortly."
ZOE = {"name": "Zoë Ça Łukasiewicz", "email": "zoe@example.com", "subject": "Grüße aus Köln – ça va?",
       "message": "Hallo!\r\nDas Formular funktioniert: ünïcödé, 日本語, emoji 🙂.\r\n\r\nZoë"}


def send(auth, **fields):
    """Post the Contact form like a browser, and let the server finish the response."""
    response = auth.post_form("/contact", {**ZOE, **fields})
    # A WSGI server calls close() once the page is sent; that is when the
    # request hands its mail to the outbox's delivery thread.
    response.close()
    auth.client.application.outbox.courier.wait()
    return response


@pytest.fixture
def visitor(mail_app):
    """A browser on the mail-sending app."""
    return AuthActions(Client(mail_app))


def test_contact_page_has_the_fields_and_a_hidden_honeypot(client):
    page = client.get("/contact").get_data(as_text=True)
    for label in ('for="name">Name<', 'for="email">Email<', 'for="subject">Subject<', 'for="message">Message<'):
        assert label in page
    assert "<textarea" in page and ">Send</button>" in page
    honeypot = re.search(r'<div class="honeypot" aria-hidden="true">.*?</div>', page, re.S).group(0)
    assert 'name="website"' in honeypot and 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    assert "style=" not in page  # the CSP forbids inline styles: the stylesheet hides it
    assert ".honeypot {" in client.get("/static/style.css", buffered=True).get_data(as_text=True)


def test_contact_is_in_the_nav_between_about_and_the_account_links(client, auth, make_user):
    def order(first_account_link):
        nav = client.get("/").get_data(as_text=True)
        return [nav.index(text) for text in (">About<", '<a href="/contact">Contact</a>', first_account_link)]

    assert order(">Sign Up<") == sorted(order(">Sign Up<"))
    make_user()
    auth.signin()
    assert order(">Profile<") == sorted(order(">Profile<"))
    assert 'href="/contact" aria-current="page"' in client.get("/contact").get_data(as_text=True)


@pytest.mark.both_databases
def test_message_reaches_the_smtp_server_with_every_header(visitor, smtp_server, query):
    response = send(visitor)
    assert response.status_code == 303
    assert response.headers["Location"] == "/contact/sent"
    assert THANKS in visitor.client.get("/contact/sent").get_data(as_text=True)

    (envelope,) = smtp_server.handler.envelopes
    assert envelope.mail_from == "noreply@example.org" and envelope.rcpt_tos == [TEST_CONTACT_TO]
    (mail,) = smtp_server.messages
    assert mail["From"] == TEST_MAIL_FROM
    assert mail["To"] == TEST_CONTACT_TO
    # The visitor's address is only ever the Reply-To, never the From.
    assert mail["Reply-To"].addresses[0].display_name == "Zoë Ça Łukasiewicz"
    assert mail["Reply-To"].addresses[0].addr_spec == "zoe@example.com"
    assert mail["Subject"] == "[Contact] Grüße aus Köln – ça va?"
    assert mail["Date"].datetime.timestamp() > 0
    assert re.fullmatch(r"<[^<>@\s]+@example\.org>", mail["Message-ID"])
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    body = text(mail)
    assert "Zoë Ça Łukasiewicz <zoe@example.com> wrote through the Contact page:" in body
    assert "Das Formular funktioniert: ünïcödé, 日本語, emoji 🙂.\n\nZoë" in body

    (stored,) = query("all_contact_messages_for_tests")
    assert (stored["name"], stored["email"], stored["subject"], stored["uid"]) == (
        ZOE["name"], ZOE["email"], ZOE["subject"], None)
    assert stored["message"] == ZOE["message"].replace("\r\n", "\n")
    (row,) = query("all_outbox_for_tests")
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
    assert row["message_id"] == mail["Message-ID"]
    assert row["body"] == ""  # delivered: the outbox keeps no copy of the text


@pytest.mark.both_databases
def test_page_is_answered_before_the_mail_is_sent(visitor, smtp_server, query):
    response = visitor.post_form("/contact", ZOE)
    # The whole response is here, and the mail server has not been talked to yet.
    assert response.status_code == 303 and response.get_data() is not None
    assert smtp_server.messages == []
    assert query("all_outbox_for_tests")[0]["status"] == "pending"
    response.close()
    visitor.client.application.outbox.courier.wait()
    assert len(smtp_server.messages) == 1


def test_reloading_the_thank_you_page_sends_nothing_again(visitor, smtp_server):
    send(visitor)
    for _ in range(3):
        page = visitor.client.get("/contact/sent")
        assert page.status_code == 200 and THANKS in page.get_data(as_text=True)
    assert len(smtp_server.messages) == 1


@pytest.mark.both_databases
def test_signed_in_user_gets_name_and_email_filled_in(visitor, make_user, mail_app, smtp_server, query):
    make_user(mail_app)
    visitor.signin()
    page = visitor.client.get("/contact").get_data(as_text=True)
    assert 'id="name" name="name" autocomplete="name" maxlength="100" value="Ada Lovelace"' in page
    assert 'value="ada@example.com"' in page
    send(visitor, name="Ada Lovelace", email="ada@example.com")
    (user,) = query("all_users_for_tests")
    assert query("all_contact_messages_for_tests")[0]["uid"] == user["uid"]
    assert f"(signed in as user #{user['uid']})" in text(smtp_server.messages[0])


def test_anonymous_form_starts_empty(client):
    page = client.get("/contact").get_data(as_text=True)
    assert 'name="name" autocomplete="name" maxlength="100" value=""' in page


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "Please enter your name."),
    ("name", "   ", "Please enter your name."),
    ("name", "x" * 101, "Name must be at most 100 characters."),
    ("email", "", "Please enter your email address."),
    ("email", "not-an-address", "Please enter your email address."),
    ("email", "zoe@localhost", "Please enter your email address."),
    ("email", "a,b@example.com", "Please enter your email address."),
    ("email", "zoë@exämple.com", "Please enter your email address."),
    ("email", "z" * 250 + "@example.com", "Email address must be at most 254 characters."),
    ("subject", "", "Please enter a subject."),
    ("subject", "x" * 201, "Subject must be at most 200 characters."),
    ("message", "", "Please enter a message."),
    ("message", " \r\n ", "Please enter a message."),
    ("message", "x" * 5001, "Message must be at most 5000 characters."),
])
def test_validation_messages(visitor, smtp_server, query, field, value, message):
    response = send(visitor, **{field: value})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert f'aria-describedby="{field}-error"' in page
    assert query("all_contact_messages_for_tests") == [] and query("all_outbox_for_tests") == []
    assert smtp_server.messages == []


def test_every_empty_field_is_named_at_once_and_typed_text_is_kept(visitor):
    page = send(visitor, name="", email="", subject="", message="").get_data(as_text=True)
    for message in ("Please enter your name.", "Please enter your email address.",
                    "Please enter a subject.", "Please enter a message."):
        assert message in page
    page = send(visitor, email="bad", message="<b>kept</b> & escaped").get_data(as_text=True)
    assert 'value="Zoë Ça Łukasiewicz"' in page and 'value="bad"' in page
    assert "&lt;b&gt;kept&lt;/b&gt; &amp; escaped</textarea>" in page


@pytest.mark.both_databases
def test_lengths_at_the_limits_are_accepted(visitor, smtp_server, query):
    # 2500 line breaks sent as CRLF count as one character each, as in the browser.
    message = "x\r\n" * 2500
    response = send(visitor, name="n" * 100, subject="s" * 200, message=message[:-2] + "y")
    assert response.status_code == 303
    assert len(query("all_contact_messages_for_tests")[0]["message"]) == 5000
    assert smtp_server.messages[0]["Subject"] == "[Contact] " + "s" * 200


@pytest.mark.parametrize("field, label", [("name", "Name"), ("subject", "Subject")])
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r"])
def test_line_breaks_in_name_or_subject_are_refused(visitor, smtp_server, query, field, label, breaker):
    attack = f"Hi{breaker}Bcc: victim@example.net{breaker}"
    response = send(visitor, **{field: "x" + attack})
    assert response.status_code == 200
    assert f"{label} must not contain line breaks or control characters." in response.get_data(as_text=True)
    assert query("all_outbox_for_tests") == []
    assert smtp_server.handler.envelopes == []


def test_filled_honeypot_is_dropped_but_thanked(visitor, smtp_server, query):
    response = send(visitor, website="http://spam.example")
    assert response.status_code == 303 and response.headers["Location"] == "/contact/sent"
    response = send(visitor, website="x", name="", message="")  # even with nothing else valid
    assert response.status_code == 303
    assert query("all_contact_messages_for_tests") == [] and query("all_outbox_for_tests") == []
    assert smtp_server.messages == []


def test_sixth_message_in_an_hour_gets_429_saying_when(visitor, smtp_server, query, clock):
    for _ in range(5):
        assert send(visitor).status_code == 303
        clock.advance(60)
    response = send(visitor)
    assert response.status_code == 429
    # The oldest of the five leaves the hour in 3600 - 5 * 60 seconds.
    assert response.headers["Retry-After"] == "3300"
    assert "Please try again in 55 minutes." in response.get_data(as_text=True)
    assert len(query("all_contact_messages_for_tests")) == 5 and len(smtp_server.messages) == 5
    clock.advance(3300)
    assert send(visitor).status_code == 303
    assert len(smtp_server.messages) == 6


def browser_at(app, **environ):
    """Return AuthActions for a browser whose requests carry these environ values (e.g. REMOTE_ADDR)."""
    def wsgi(env, start_response):
        env.update(environ)
        return app(env, start_response)

    wsgi.outbox = app.outbox  # for send(), which waits for the delivery thread
    return AuthActions(Client(wsgi))


def test_limit_is_per_client_ip(mail_app, smtp_server, make_app):
    first = browser_at(mail_app, REMOTE_ADDR="192.0.2.1")
    for _ in range(5):
        send(first)
    assert send(first).status_code == 429
    assert send(browser_at(mail_app, REMOTE_ADDR="192.0.2.2")).status_code == 303
    # Behind one trusted proxy the client is the address the proxy saw,
    # so another visitor behind the same proxy is not limited.
    proxied = make_app(MAIL_URL=smtp_server.url, TRUSTED_PROXIES=1)
    via_proxy = browser_at(proxied, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert send(via_proxy).status_code == 303


def test_honeypot_messages_count_towards_the_limit(visitor):
    for _ in range(5):
        send(visitor, website="spam")
    assert send(visitor).status_code == 429


@pytest.mark.both_databases
def test_limit_is_counted_in_the_database_across_processes(make_app, smtp_server):
    # Two app objects stand for two worker processes: the count is shared.
    workers = [AuthActions(Client(make_app(MAIL_URL=smtp_server.url))) for _ in range(2)]
    for n in range(5):
        send(workers[n % 2])
    assert send(workers[1]).status_code == 429


def test_form_needs_the_csrf_token(visitor, query):
    visitor.client.get("/contact")
    response = visitor.client.post("/contact", data=ZOE)
    assert response.status_code == 400
    assert query("all_contact_messages_for_tests") == []


def test_under_gunicorn_a_slow_mail_server_does_not_hold_up_the_page(database_url, smtp_server, tmp_path):
    # The SMTP server takes the message but does not answer until released:
    # the visitor must have the thank-you page meanwhile.
    smtp_server.handler.release.clear()
    port = free_port()
    env = {"WSGIAUTH_DATABASE": database_url, "WSGIAUTH_SECRET_KEY": TEST_SECRET_KEY,
           "WSGIAUTH_MAIL_URL": smtp_server.url, "WSGIAUTH_MAIL_FROM": TEST_MAIL_FROM,
           "WSGIAUTH_CONTACT_TO": TEST_CONTACT_TO, "WSGIAUTH_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "wsgiauth:create_app()"]
    try:
        with running(command, port, env=env, cwd=tmp_path) as base_url:
            browser = Browser(base_url)
            status, headers, _ = browser.submit("/contact", ZOE)
            assert (status, headers["Location"]) == (303, "/contact/sent")
            assert smtp_server.handler.arrived.wait(30) and smtp_server.messages == []
            assert THANKS in browser.request("/contact/sent")[2]
            smtp_server.handler.release.set()
            deadline = time.monotonic() + 30
            while not smtp_server.messages and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        smtp_server.handler.release.set()
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "[Contact] " + ZOE["subject"]
