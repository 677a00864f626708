"""The findings of the outside security review (issue 11): each test failed before its fix."""

import threading

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth.db import Database
from wsgiauth.migrations import migrate

from conftest import LONGEST_EMAIL, AuthActions, ClosingClient
from smtpserver import link_in, mail_to, text
from support import PASSWORD, hash_calls, signed_in, signin  # noqa: F401 (a fixture)

WRONG = "That is not your password."
TOO_MANY = "Too many attempts. Try again in 1 minute."
# Every form that asked for the current password (path, its other fields):
# since issue 15 they ask for it on the Confirm access page, once the
# confirmation that signing in gave has run out (10 minutes).
PASSWORD_FORMS = [
    ("/account/password", {"new_password": "a new pass phrase", "new_password2": "a new pass phrase"}),
    ("/account/email", {"email": "ada@newmail.example"}),
    ("/account/delete", {"delete_confirm": "DELETE"}),
]
CONFIRM_WINDOW = 10 * 60
ODD_ADDRESSES = ["(x)victim@example.com", "victim@example.com(y)", '"victim"@example.com',
                 "Victim <victim@example.com>", "victim@[127.0.0.1]", "a@[b.co", "=?utf-8?q?a?=@example.com",
                 "victim@example.com.", "vic..tim@example.com"]


def post_account_form(client, path, fields, password=None):
    """Post one account-settings form; if it asks to confirm access, type password on the Confirm access page."""
    token = csrf_token_in(client.get("/profile").get_data(as_text=True))  # one token for every form of the session
    response = client.post(path, data={**fields, "csrf_token": token})
    if password is None or response.status_code != 403:
        return response
    carried = {f"carried-{name}": value for name, value in fields.items() if "password" not in name}
    return client.post("/confirm-access", data={"then": path, **carried, "password": password, "csrf_token": token})


def events(query):
    """Return the names of the security events recorded so far."""
    return [row["event"] for row in query("security_events_for_tests")]


# -- 1. Current-password checks are throttled, like sign-in -----------------
# Since issue 15 the forms ask for it through the Confirm access page
# (views/access.py), which keeps every one of these guarantees.

@pytest.mark.both_databases
@pytest.mark.parametrize("path, fields", PASSWORD_FORMS)
def test_wrong_current_passwords_end_the_session_at_the_fifth(app, query, clock, path, fields):
    client = signed_in(app)
    clock.advance(CONFIRM_WINDOW)
    for _ in range(4):
        response = post_account_form(client, path, fields, "not my password")
        assert response.status_code == 200 and WRONG in response.get_data(as_text=True)
    response = post_account_form(client, path, fields, "not my password")
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")
    page = client.get("/signin").get_data(as_text=True)
    assert "signed out because the password was typed wrongly too many times" in page
    assert client.get("/profile").status_code == 303  # signed out
    assert query("all_sessions_for_tests") == []
    assert events(query).count("access_confirm_failed") == 5 and "signout_wrong_passwords" in events(query)
    assert query("all_users_for_tests")[0]["email"] == "ada@example.com"  # nothing changed


@pytest.mark.parametrize("path, fields", PASSWORD_FORMS)
def test_failed_sign_ins_throttle_the_account_forms_without_hashing(app, query, hash_calls, clock, path, fields):
    owner = signed_in(app)
    clock.advance(CONFIRM_WINDOW)
    attacker = Client(app)
    for _ in range(5):
        assert signin(attacker, password="a wrong guess").status_code == 200
    del hash_calls[:]
    # Even the right password is not checked while the account waits.
    response = post_account_form(owner, path, fields, PASSWORD)
    assert response.status_code == 429 and TOO_MANY in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "60"
    assert hash_calls == []
    assert "access_confirm_throttled" in events(query)
    clock.advance(60)
    assert post_account_form(owner, path, fields, PASSWORD).status_code == 303


def test_wrong_current_passwords_count_towards_the_sign_in_backoff(app, hash_calls, clock):
    thief = signed_in(app)  # a stolen cookie
    clock.advance(CONFIRM_WINDOW)
    for _ in range(4):
        assert post_account_form(thief, "/account/delete", {"delete_confirm": "DELETE"}, "guess").status_code == 200
    assert signin(Client(app), password="a fifth guess").status_code == 200
    del hash_calls[:]
    response = signin(Client(app))  # the right password, but the account waits now
    assert response.status_code == 429 and hash_calls == []


def test_one_password_check_is_one_hash_and_none_over_1024_characters(app, hash_calls, clock):
    client = signed_in(app)
    clock.advance(CONFIRM_WINDOW)
    del hash_calls[:]
    post_account_form(client, "/account/delete", {"delete_confirm": "DELETE"}, "wrong")
    assert hash_calls == ["check"]
    post_account_form(client, "/account/delete", {"delete_confirm": "DELETE"}, "x" * 1025)
    assert hash_calls == ["check"]


# -- 2. Account enumeration ---------------------------------------------------

def test_email_change_checks_the_password_before_anything_about_the_address(ada, make_user, mail_app, clock):
    make_user(mail_app, firstname="Bob", email="bob@example.com")
    clock.advance(CONFIRM_WINDOW)
    asked = post_account_form(ada.client, "/account/email", {"email": "bob@example.com"}).get_data(as_text=True)
    assert "Confirm access" in asked and "taken" not in asked
    page = post_account_form(ada.client, "/account/email", {"email": "bob@example.com"}, "wrong")
    assert WRONG in page.get_data(as_text=True) and "taken" not in page.get_data(as_text=True)


@pytest.mark.both_databases
def test_email_change_to_a_taken_address_looks_the_same_and_mails_no_link(ada, make_user, mail_app, smtp_server, query):
    make_user(mail_app, firstname="Bob", email="bob@example.com")
    answers = []
    for address in ("bob@example.com", "free@example.com"):
        response = ada.post_form("/account/email", {"email": address}, form_path="/account")
        notice = ada.client.get("/account").get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"],
                        notice.replace(address, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (303, "/account") and "We have sent a link to ADDRESS." in answers[0][2]
    warning = mail_to(smtp_server, "bob@example.com", "Your email address is already in use")
    assert "already has an account" in text(warning) and "/account/email/" not in text(warning)
    assert link_in(mail_to(smtp_server, "free@example.com", "Confirm your new email address"), "/account/email/")
    emails = sorted(row["email"] for row in query("all_users_for_tests"))
    assert emails == ["ada@example.com", "bob@example.com"]


@pytest.fixture
def work(app, monkeypatch):
    """Count what a request does: password hashes, tokens made and outbox messages built."""
    calls = []
    for owner, name in [(app.passwords, "hash"), (app.passwords, "check"), (app.tokens, "make"),
                        (app.outbox, "draft")]:
        original = getattr(owner, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("path", ["/forgot", "/confirm"])
def test_signed_out_mail_forms_do_the_same_work_for_known_and_unknown_addresses(app, make_user, work, path):
    make_user(app, email="known@example.com")  # unconfirmed: /confirm mails it a link
    done = {}
    for address in ("known@example.com", "unknown@example.com"):
        del work[:]
        response = AuthActions(Client(app)).post_form(path, {"email": address})
        done[address] = (response.status_code, response.headers["Location"], sorted(work))
    assert done["known@example.com"] == done["unknown@example.com"]
    assert sorted(work) == ["draft", "make"]


def test_mail_is_sent_away_from_the_request_connection(mail_app, smtp_server):
    # The SMTP server holds the message until released: if close() (the end
    # of the request, on its connection) delivered it, close() would wait too.
    smtp_server.handler.release.clear()
    try:
        response = AuthActions(Client(mail_app)).signup(email="someone@example.com")
        assert response.status_code == 303
        closing = threading.Thread(target=response.close)
        closing.start()
        closing.join(10)
        assert not closing.is_alive()
        assert smtp_server.handler.arrived.wait(30) and smtp_server.messages == []
    finally:
        smtp_server.handler.release.set()
    mail_app.outbox.courier.wait()
    assert [m["To"] for m in smtp_server.messages] == ["someone@example.com"]


# -- 3. and 4. One plain address per mailbox; no address crashes a form ------------

@pytest.mark.parametrize("address", ODD_ADDRESSES)
def test_only_plain_addresses_make_accounts(auth, query, address):
    response = auth.signup(email=address)
    assert response.status_code == 200
    assert "Please enter your email address." in response.get_data(as_text=True)
    assert query("all_users_for_tests") == []


@pytest.mark.parametrize("path, fields", [
    ("/signup", {"firstname": "Ada", "lastname": "Lovelace", "password": PASSWORD}),
    ("/forgot", {}), ("/confirm", {}),
    ("/contact", {"name": "Ada", "subject": "Hi", "message": "Hello"}),
])
@pytest.mark.parametrize("address", ["a@[b.co", "=?utf-8?q?a?=@x.com", "ä@x.com", "a@b\u2028.com"])
def test_hostile_addresses_get_the_field_message_not_a_500(client, auth, path, fields, address):
    response = auth.post_form(path, {**fields, "email": address})
    assert response.status_code == 200
    assert "Please enter your email address." in response.get_data(as_text=True)


def test_hostile_address_on_the_email_change_form(app):
    client = signed_in(app)
    response = post_account_form(client, "/account/email", {"email": "a@[b.co"})
    assert response.status_code == 200 and "Please enter your email address." in response.get_data(as_text=True)


@pytest.mark.both_databases
def test_migration_gives_old_odd_addresses_their_plain_form_or_parks_them(database_url, query):
    # Rows the old, looser check let in; the migration runs again over them.
    for uid, email in [(1, "ada@example.com"), (2, "(x)ada@example.com"), (3, '"bob"@example.com'),
                       (4, "bob@example.com(y)"), (5, "a@[b.co")]:
        query("insert_user_for_tests", uid=uid, email=email, pending_email=None)
    query("insert_user_for_tests", uid=6, email="carol@example.com", pending_email="(x)new@example.com")
    query("insert_session_for_tests", id_hash="h" * 64, uid=3)
    query("forget_migration_for_tests", version=6)
    db = Database(database_url)
    migrate(db)
    db.close()
    rows = {row["uid"]: row for row in query("all_users_for_tests")}
    assert {uid: row["email"] for uid, row in rows.items()} == {
        1: "ada@example.com", 2: "parked-2@wsgiauth.invalid", 3: "bob@example.com",
        4: "parked-4@wsgiauth.invalid", 5: "parked-5@wsgiauth.invalid", 6: "carol@example.com"}
    assert rows[3]["confirmed_at"] is None and rows[1]["confirmed_at"] is not None
    assert rows[6]["pending_email"] is None
    assert query("all_sessions_for_tests") == []  # bob's account was signed out


# -- 5. and 6. Line breaks and the longest values ----------------------------

@pytest.mark.parametrize("breaker", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
@pytest.mark.parametrize("field", ["name", "subject"])
def test_every_unicode_line_break_is_refused_in_one_line_fields(client, auth, query, field, breaker):
    form = {"name": "Zoe", "email": "zoe@example.com", "subject": "Hi", "message": "Hello"}
    form[field] = "one" + breaker + "two"
    response = auth.post_form("/contact", form)
    assert response.status_code == 200
    assert "must not contain line breaks or control characters." in response.get_data(as_text=True)
    assert query("all_outbox_for_tests") == []


@pytest.mark.both_databases
def test_contact_at_the_maximum_of_every_field_is_stored_and_mailed(mail_app, smtp_server, query):
    # Every character of the name needs a backslash inside quotes: the
    # longest Reply-To the form allows (459 characters).
    form = {"name": '"\\' * 50, "email": LONGEST_EMAIL, "subject": "ü" * 200, "message": "🙂" * 5000}
    response = AuthActions(ClosingClient(mail_app)).post_form("/contact", form)
    assert response.status_code == 303
    (row,) = query("all_outbox_for_tests")
    assert row["status"] == "sent" and len(row["reply_to"]) == 459
    (mail,) = smtp_server.messages
    assert mail["Reply-To"].addresses[0].addr_spec == LONGEST_EMAIL
    assert mail["Reply-To"].addresses[0].display_name == form["name"]


@pytest.mark.both_databases
def test_email_change_to_the_longest_address(app, query):
    client = signed_in(app, firstname="a" * 100)
    response = post_account_form(client, "/account/email", {"email": LONGEST_EMAIL})
    assert response.status_code == 303
    assert query("all_users_for_tests")[0]["pending_email"] == LONGEST_EMAIL
    assert f"We have sent a link to {LONGEST_EMAIL}." in client.get("/account").get_data(as_text=True)


@pytest.mark.both_databases
def test_a_name_is_never_longer_than_typed(auth, query):
    assert auth.signup(firstname="ß" * 100, lastname="ǆ" * 100).status_code == 303
    (row,) = query("all_users_for_tests")
    assert (row["firstname"], row["lastname"]) == ("ß" * 100, "Ǆ" + "ǆ" * 99)


# -- 7. and the rest: what a client sends in the request's head ----------------

@pytest.mark.parametrize("host", ["a..b", ".a", "a" * 64 + ".example"])
def test_a_host_that_is_no_host_name_gets_the_400_page_with_the_usual_headers(client, host):
    response = client.get("/signin", headers={"Host": host})
    assert response.status_code == 400
    assert "This request didn’t work" in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("prefix, location", [
    ("//evil.example", "/signin?next=/profile"),
    ("/\\evil.example", "/signin?next=/profile"),
    ("https://evil.example", "/signin?next=/profile"),
    ("/accounts", "/accounts/signin?next=/profile"),
])
def test_a_forwarded_prefix_must_be_a_plain_path(make_app, prefix, location):
    client = Client(make_app(TRUSTED_PROXIES=1))
    headers = {"X-Forwarded-Prefix": prefix}
    assert client.get("/profile", headers=headers).headers["Location"] == location
    assert "evil" not in client.get("/signin", headers=headers).get_data(as_text=True)
