"""Confirm access ("sudo mode", issue 15): sensitive pages and changes need the password within the last 10 minutes."""

import re

import pytest
from helpers import csrf_token_in
from test_account import NEW_PASSWORD, change_password, page, twin
from test_sessions import session_cookie
from werkzeug.test import Client

from conftest import AuthActions
from smtpserver import mail_to
from support import hash_calls, signin  # noqa: F401 (a fixture)
from support import signed_in as signed_in_client

PASSWORD = "correct horse"
WINDOW = 10 * 60
ASKED = "/confirm-access?next=/account"
WRONG = "That is not your password."


def confirm(browser, password=PASSWORD, path=ASKED, **fields):
    """Load the Confirm access page at path and send it with password (and hidden fields: next, as the page has it)."""
    if "?next=" in path:
        fields.setdefault("next", path.split("?next=", 1)[1])
    return browser.post_form("/confirm-access", {"password": password, **fields}, form_path=path)


def hidden_fields(html):
    """Return the hidden inputs of the Confirm access form, but the CSRF token: {name: value}."""
    form = html[html.index('action="/confirm-access"'):]
    return {name: value for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
            if name != "csrf_token"}


def send_again(browser, response, password=PASSWORD):
    """Type the password into the Confirm access page a form was answered with, and send it with what it carries."""
    html = page(response)
    data = {**hidden_fields(html), "password": password, "csrf_token": csrf_token_in(html, "/confirm-access")}
    return browser.client.post("/confirm-access", data=data)


def events(query):
    """Return the names of the security events recorded so far."""
    return [row["event"] for row in query("security_events_for_tests")]


def load_then_wait(browser, clock, seconds=WINDOW):
    """Load the settings page (its forms' CSRF token) and let seconds pass, as a person reading and typing."""
    html = page(browser.client.get("/account"))
    assert "Account settings" in html
    clock.advance(seconds)
    return csrf_token_in(html)


@pytest.mark.both_databases
def test_signing_in_counts_as_confirming_for_ten_minutes(ada, query, clock):
    assert [row["access_confirmed_at"] for row in query("all_sessions_for_tests")] == [clock()]
    clock.advance(WINDOW - 1)
    assert ada.client.get("/account").status_code == 200
    clock.advance(1)
    response = ada.client.get("/account")
    assert (response.status_code, response.headers["Location"]) == (303, ASKED)


@pytest.mark.both_databases
def test_confirming_returns_to_the_page_and_lasts_ten_minutes_more(ada, query, clock):
    clock.advance(WINDOW)
    asked = ada.client.get(ASKED)
    assert asked.status_code == 200 and "<h1>Confirm access</h1>" in page(asked)
    assert 'autocomplete="current-password"' in page(asked) and 'name="next" value="/account"' in page(asked)
    response = confirm(ada)
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert [row["access_confirmed_at"] for row in query("all_sessions_for_tests")] == [clock()]
    assert events(query)[-1] == "access_confirmed"
    clock.advance(WINDOW - 1)
    assert ada.client.get("/account").status_code == 200


@pytest.mark.both_databases
def test_a_wrong_password_is_refused_counted_and_audited(ada, query, clock):
    clock.advance(WINDOW)
    response = confirm(ada, "not my password")
    assert response.status_code == 200 and WRONG in page(response)
    assert 'aria-describedby="password-error' in page(response)
    assert "not my password" not in page(response)
    assert "access_confirm_failed" in events(query)
    assert len(query("password_attempts_for_tests")) == 1
    assert ada.client.get("/account").headers["Location"] == ASKED  # still not confirmed
    empty = confirm(ada, "")
    assert empty.status_code == 200 and "Please enter your password." in page(empty)
    assert len(query("password_attempts_for_tests")) == 1  # nothing to check: nothing counted


@pytest.mark.both_databases
def test_the_fifth_wrong_password_in_a_session_ends_it(ada, query, clock):
    clock.advance(WINDOW)
    for _ in range(4):
        assert confirm(ada, "not my password").status_code == 200
    response = confirm(ada, "not my password")
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")
    assert "signed out because the password was typed wrongly too many times" in page(ada.client.get("/signin"))
    assert ada.client.get("/profile").status_code == 303
    assert query("all_sessions_for_tests") == []
    assert events(query).count("access_confirm_failed") == 5 and "signout_wrong_passwords" in events(query)


def test_a_throttled_confirmation_costs_no_hash(app, signed_in, query, hash_calls, clock):
    attacker = AuthActions(Client(app))
    for _ in range(5):
        assert attacker.signin(password="a wrong guess").status_code == 200
    del hash_calls[:]
    response = confirm(signed_in, path="/confirm-access")
    assert response.status_code == 429 and "Too many attempts. Try again in 1 minute." in page(response)
    assert response.headers["Retry-After"] == "60"
    assert hash_calls == []  # not even the right password is checked while the account waits
    assert "access_confirm_throttled" in events(query)
    clock.advance(60)
    assert confirm(signed_in, path="/confirm-access").status_code == 303


def test_wrong_confirmations_count_towards_the_sign_in_backoff(app, signed_in, hash_calls):
    for _ in range(4):
        assert confirm(signed_in, "a guess", path="/confirm-access").status_code == 200
    assert signin(Client(app), password="a fifth guess").status_code == 200
    del hash_calls[:]
    response = signin(Client(app))  # the right password, but the account waits now
    assert response.status_code == 429 and hash_calls == []


def test_one_check_is_one_hash_and_none_over_1024_characters(signed_in, hash_calls):
    del hash_calls[:]
    confirm(signed_in, "wrong", path="/confirm-access")
    assert hash_calls == ["check"]
    confirm(signed_in, "x" * 1025, path="/confirm-access")
    assert hash_calls == ["check"]


@pytest.mark.both_databases
def test_an_email_change_sent_after_the_window_is_done_once_access_is_confirmed(ada, query, smtp_server, clock):
    token = load_then_wait(ada, clock)
    response = ada.client.post("/account/email", data={"email": "ada@newmail.example", "csrf_token": token})
    assert response.status_code == 403 and "<h1>Confirm access</h1>" in page(response)
    assert "nothing has changed yet" in page(response)
    assert hidden_fields(page(response)) == {"then": "/account/email", "carried-email": "ada@newmail.example"}
    assert query("all_users_for_tests")[0]["pending_email"] is None and smtp_server.messages == []

    wrong = send_again(ada, response, "not my password")  # a slip: what was typed is still carried
    assert wrong.status_code == 200 and WRONG in page(wrong)
    assert hidden_fields(page(wrong)) == {"then": "/account/email", "carried-email": "ada@newmail.example"}
    done = send_again(ada, wrong)
    assert (done.status_code, done.headers["Location"]) == (303, "/account")
    assert "We have sent a link to ada@newmail.example." in page(ada.client.get("/account"))
    assert query("all_users_for_tests")[0]["pending_email"] == "ada@newmail.example"
    assert mail_to(smtp_server, "ada@newmail.example", "Confirm your new email address")
    assert events(query)[-2:] == ["access_confirmed", "email_change_requested"]


def test_a_carried_form_with_a_mistake_comes_back_with_its_error(ada, clock):
    token = load_then_wait(ada, clock)
    response = ada.client.post("/account/email", data={"email": "ada@example", "csrf_token": token})
    answer = send_again(ada, response)
    assert answer.status_code == 200 and "Please enter your email address." in page(answer)
    assert 'value="ada@example"' in page(answer)  # kept, to be corrected


@pytest.mark.both_databases
def test_a_password_change_after_the_window_never_puts_the_new_password_in_a_page(ada, query, clock):
    before = query("all_users_for_tests")[0]["pwdhash"]
    token = load_then_wait(ada, clock)
    response = ada.client.post("/account/password", data={
        "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 403 and NEW_PASSWORD not in page(response)
    assert hidden_fields(page(response)) == {"then": "/account/password"}
    assert "you will type it again after confirming" in page(response)
    answer = send_again(ada, response)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/account#password")
    assert "Access confirmed. Please type the new password or the code again" in page(ada.client.get("/account"))
    assert query("all_users_for_tests")[0]["pwdhash"] == before
    assert ada.post_form("/account/password", {"new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
                         form_path="/account").status_code == 303
    assert query("all_users_for_tests")[0]["pwdhash"] != before


@pytest.mark.both_databases
def test_deleting_and_signing_out_others_after_the_window(ada, new_browser, query, clock):
    phone = new_browser()
    phone.signin()
    token = load_then_wait(ada, clock)
    response = ada.client.post("/signout/others", data={"csrf_token": token})
    assert response.status_code == 403 and phone.client.get("/profile").status_code == 200
    answer = send_again(ada, response)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/security")
    assert phone.client.get("/profile").status_code == 303  # signed out now
    token = load_then_wait(ada, clock)  # confirming gave the session a new id (7.2.4), and its forms a new token
    response = ada.client.post("/account/delete", data={"delete_confirm": "DELETE", "csrf_token": token})
    assert response.status_code == 403 and len(query("all_users_for_tests")) == 1
    assert hidden_fields(page(response)) == {"then": "/account/delete", "carried-delete_confirm": "DELETE"}
    answer = send_again(ada, response)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/")
    assert query("all_users_for_tests") == [] and query("all_sessions_for_tests") == []


@pytest.mark.both_databases
def test_the_window_is_per_session(ada, new_browser, query, clock):
    laptop = new_browser()
    laptop.signin()
    clock.advance(WINDOW)
    assert confirm(ada).status_code == 303
    assert ada.client.get("/account").status_code == 200
    # The same user's other browser proved nothing: it is asked.
    assert laptop.client.get("/account").headers["Location"] == ASKED
    confirmed = sorted(row["access_confirmed_at"] for row in query("all_sessions_for_tests"))
    assert confirmed == [clock() - WINDOW, clock()]


@pytest.mark.both_databases
def test_it_ends_with_the_session(ada, new_browser, query, clock):
    clock.advance(WINDOW)
    assert confirm(ada).status_code == 303
    tab = twin(ada)  # a copy of the cookie as it is now, confirmed
    assert tab.get("/account").status_code == 200
    ada.signout()
    assert query("all_sessions_for_tests") == []
    assert tab.get("/account").headers["Location"] == "/signin?next=/account"  # not "confirm": no session at all


@pytest.mark.both_databases
def test_confirming_access_gives_the_session_a_new_id_and_ends_the_old_one(ada, query, clock):
    """ASVS 5.0 7.2.4: a new session id at re-authentication; the old cookie stops working, the state stays."""
    thief = twin(ada)  # a copy of the cookie from before the confirmation
    old_cookie, [before] = session_cookie(ada.client), query("all_sessions_for_tests")
    token = load_then_wait(ada, clock)
    response = ada.client.post("/account/email", data={"email": "ada@newmail.example", "csrf_token": token})
    assert response.status_code == 403
    done = send_again(ada, response)  # the carried form completes under the new id
    assert (done.status_code, done.headers["Location"]) == (303, "/account")
    assert session_cookie(ada.client) not in (None, old_cookie)
    assert "We have sent a link to ada@newmail.example." in page(ada.client.get("/account"))
    assert query("all_users_for_tests")[0]["pending_email"] == "ada@newmail.example"
    [after] = query("all_sessions_for_tests")  # the same row, renamed: its list entry and times stay
    assert after["id_hash"] != before["id_hash"] and after["access_confirmed_at"] == clock()
    assert (after["created_at"], after["expires_at"]) == (before["created_at"], before["expires_at"])
    assert ada.client.get("/security").status_code == 200  # confirmed, under the new id
    refused = thief.get("/account")
    assert (refused.status_code, refused.headers["Location"]) == (303, "/signin?next=/account")
    assert thief.get("/auth/verify").status_code == 401  # a program with the old cookie: signed out


def test_a_password_change_keeps_this_session_confirmed(ada, clock):
    old = session_cookie(ada.client)
    assert change_password(ada).status_code == 303
    assert session_cookie(ada.client) != old  # a new id for the same session...
    assert ada.client.get("/account").status_code == 200  # ...still confirmed


@pytest.mark.parametrize("fields, lands_on", [
    ({"next": "//evil.example/x"}, "/profile"),
    ({"next": "/static/style.css"}, "/profile"),
    ({"then": "/account/name", "carried-firstname": "Mallory"}, "/profile"),  # no confirmation needed there
    ({"then": "/signout"}, "/profile"),
    ({"then": "https://evil.example/account/delete", "carried-delete_confirm": "DELETE"}, "/profile"),
])
def test_only_our_pages_and_confirmed_forms_are_followed(signed_in, query, fields, lands_on):
    response = confirm(signed_in, path="/confirm-access", **fields)
    assert (response.status_code, response.headers["Location"]) == (303, lands_on)
    assert query("all_users_for_tests")[0]["firstname"] == "Ada"
    assert signed_in.client.get("/profile").status_code == 200


def test_only_the_listed_fields_are_carried(signed_in, query, clock):
    clock.advance(WINDOW)
    response = confirm(signed_in, path="/confirm-access", then="/account/email",
                       **{"carried-email": "ada@newmail.example", "carried-firstname": "Mallory"})
    assert response.headers["Location"] == "/account"
    row = query("all_users_for_tests")[0]
    assert (row["pending_email"], row["firstname"]) == ("ada@newmail.example", "Ada")


def test_the_window_is_a_setting(make_app, make_user, clock):
    app = make_app(CONFIRM_ACCESS_MINUTES=30)
    make_user(app)
    browser = AuthActions(Client(app))
    browser.signin()
    clock.advance(30 * 60 - 1)
    assert browser.client.get("/account").status_code == 200
    clock.advance(1)
    assert browser.client.get("/account").headers["Location"] == ASKED


def test_the_confirm_access_page_needs_sign_in_and_the_name_form_does_not_need_it(ada, client, query, clock):
    assert client.get("/confirm-access").headers["Location"] == "/signin?next=/confirm-access"
    token = load_then_wait(ada, clock)
    # Changing the name changes nothing about how one signs in.
    assert ada.client.post("/account/name", data={"firstname": "Augusta", "lastname": "King",
                                                  "csrf_token": token}).status_code == 303
    assert query("all_users_for_tests")[0]["firstname"] == "Augusta"


@pytest.mark.both_databases
def test_the_authenticator_app_needs_access_confirmed_too(app, query, clock):
    """ASVS 5.0 7.5.1: setting up, removing the app and new recovery codes (MFA configuration) need it too."""
    ada = signed_in_client(app)
    token = csrf_token_in(ada.get("/security").get_data(as_text=True))
    assert ada.post("/security/app", data={"csrf_token": token}).headers["Location"] == "/security/app"
    clock.advance(WINDOW)
    # The page shows the key: it is asked for first, and comes back.
    assert ada.get("/security/app").headers["Location"] == "/confirm-access?next=/security/app"
    for path in ("/security/app/remove", "/security/recovery-codes", "/security/app"):
        response = ada.post(path, data={"csrf_token": token})
        assert response.status_code == 403 and "<h1>Confirm access</h1>" in page(response), path
    # A code is a secret (and stale by the time access is confirmed): never carried.
    response = ada.post("/security/app/confirm", data={"code": "123456", "csrf_token": token})
    assert response.status_code == 403 and hidden_fields(page(response)) == {"then": "/security/app/confirm"}
    assert "123456" not in page(response)
    answer = ada.post("/confirm-access", data={**hidden_fields(page(response)), "password": PASSWORD,
                                               "csrf_token": token})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/security/app")
    assert "Please type the new password or the code again" in page(ada.get("/security/app"))
    assert query("totp_factors_for_tests")[0]["confirmed_at"] is None  # nothing was turned on
