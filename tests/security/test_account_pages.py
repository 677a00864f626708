"""ASVS 4.0.3 requirements met by the account pages (issue 4): password change and reset, email
confirmation and change, deletion. One test per requirement; SECURITY.md points at each."""

import base64
import json
import logging
import re

import pytest
from helpers import csrf_token_in
from test_account import CHANGE_SUBJECT, NEW_PASSWORD, ask_email_change, change_password, delete
from test_confirm import SUBJECT as CONFIRM_SUBJECT
from test_confirm import flip, mailed_link
from test_reset import SUBJECT as RESET_SUBJECT
from test_reset import ask, choose, reset_link
from test_v6_authentication import COMMON, COMMON_PASSWORDS, CONTEXTUAL
from werkzeug.test import Client

from conftest import TEST_SECRET_KEY, AuthActions, ClosingClient
from smtpserver import link_in, mail_to, text
from support import PASSWORD, cookie_headers, passwords_js, scripts_in, signed_in, signin

OTHER_KEY = "the-next-secret-key-long-enough-for-production-0123"
PERSONAL = "Password must not be your email address or name."
CHANGED_SUBJECT = "Your password has been changed"


def page(response):
    """Return a response's text."""
    return response.get_data(as_text=True)


def pwdhash(query):
    """Return Ada's stored password hash."""
    return query("all_users_for_tests")[0]["pwdhash"]


def token_of(link):
    """Return the token at the end of a link's path."""
    return link.rsplit("/", 1)[1]


# -- V2.1 Password security ---------------------------------------------------

def test_6_2_2_users_can_change_their_password(ada, new_browser):
    """ASVS 5.0 6.2.2; 4.0.3 2.1.5: the account settings change the password; the old one stops working."""
    assert 'name="new_password"' in page(ada.client.get("/account"))
    response = change_password(ada)
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert new_browser().signin(password=NEW_PASSWORD).status_code == 303
    assert new_browser().signin(password=PASSWORD).status_code == 200


def test_6_2_3_password_change_needs_current_password(ada, query, clock):
    """ASVS 5.0 6.2.3; 4.0.3 2.1.6: a change needs the current password (typed at sign-in or on the Confirm access
    page, at most 10 minutes before) as well as the new one twice; nothing changes without it."""
    assert 'name="current_password"' not in page(ada.client.get("/account"))  # one mechanism: Confirm access
    before = pwdhash(query)
    token = csrf_token_in(page(ada.client.get("/account")))
    clock.advance(10 * 60)
    asked = ada.client.post("/account/password", data={"new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
                                                       "csrf_token": token})
    assert asked.status_code == 403 and 'autocomplete="current-password"' in page(asked)
    for current, message in [("", "Please enter your password."), ("wrong password", "That is not your password."),
                             (NEW_PASSWORD, "That is not your password.")]:
        response = ada.client.post("/confirm-access", data={"password": current, "then": "/account/password",
                                                            "csrf_token": token})
        assert response.status_code == 200 and message in page(response), current
        assert pwdhash(query) == before
    assert ada.client.post("/confirm-access", data={"password": PASSWORD, "then": "/account/password",
                                                    "csrf_token": token}).status_code == 303
    assert change_password(ada).status_code == 303 and pwdhash(query) != before


def refused_at_change_and_reset(ada, new_browser, smtp_server, query, passwords, message):
    """Assert each of passwords is refused with message by the password change and the reset; nothing changes."""
    before = pwdhash(query)
    for password in passwords:
        response = change_password(ada, new=password)
        assert response.status_code == 200 and message in page(response), password
    ask(new_browser())
    link, stranger = reset_link(smtp_server), new_browser()
    for password in passwords:
        response = choose(stranger, link, password)
        assert response.status_code == 200 and message in page(response), password
    assert pwdhash(query) == before
    assert choose(stranger, link).status_code == 303  # the link still works for a good password


def test_6_2_11_new_password_on_change_and_reset_is_not_the_email_or_name(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.2.11; 4.0.3 2.1.7: a changed or reset password may not be the user's email or name."""
    personal = ["ada@example.com", "Ada Lovelace", "Lovelace", "lovelace ada", "ADA@EXAMPLE.COM"]
    refused_at_change_and_reset(ada, new_browser, smtp_server, query, personal, PERSONAL)


def test_the_site_s_own_words_are_refused_at_change_and_reset(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.1.2, 6.2.11: a changed or reset password may not be built on the site's own words."""
    refused_at_change_and_reset(ada, new_browser, smtp_server, query, ["wsgiauth2024", "WSGIAuth!!", "Localhost:80"],
                                CONTEXTUAL)


def test_6_2_4_common_password_is_refused_at_change_and_reset(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.2.4; 4.0.3 2.1.7: a password on the common list is refused by the password change and the reset."""
    refused_at_change_and_reset(ada, new_browser, smtp_server, query, COMMON_PASSWORDS, COMMON)


# -- V2.2 General authenticator security --------------------------------------

def test_6_3_6_email_is_a_recovery_path_only_and_never_signs_in(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.3.6; 4.0.3 2.2.2: an emailed link never signs anyone in; a reset ends every session instead."""
    stranger = new_browser()
    assert stranger.open_link(mailed_link(ada, smtp_server)).status_code == 200
    assert stranger.client.get("/profile").status_code == 303  # confirmed, but not signed in
    ask(stranger)
    response = choose(stranger, reset_link(smtp_server))
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")
    assert query("all_sessions_for_tests") == []
    for person in (stranger, ada):
        assert person.client.get("/profile").status_code == 303
    assert stranger.signin(password=NEW_PASSWORD).status_code == 303  # the password signs in


def test_6_3_7_notices_after_a_reset_and_an_email_change(ada, new_browser, smtp_server):
    """ASVS 5.0 6.3.7; 4.0.3 2.2.3: the owner is told by email after a password reset and after an email change."""
    ask(new_browser())
    choose(new_browser(), reset_link(smtp_server))
    notice = mail_to(smtp_server, "ada@example.com", CHANGED_SUBJECT)
    assert "has just been changed" in text(notice) and "http://localhost/forgot" in text(notice)
    ada.signin(password=NEW_PASSWORD)
    ask_email_change(ada)
    new_browser().open_link(link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/"))
    # To the old address, which would otherwise never hear of it.
    moved = mail_to(smtp_server, "ada@example.com", "Your email address has been changed")
    assert "now uses ada@newmail.example instead of ada@example.com" in text(moved)


# -- V2.3 Authenticator lifecycle ---------------------------------------------

def test_6_4_1_activation_link_is_unforgeable_expires_and_works_once(ada, new_browser, smtp_server, clock,
                                                                      query):
    """ASVS 5.0 6.4.1; 4.0.3 2.3.1: the activation (confirmation) link is signed, expires after 48 hours and works
    once."""
    first = mailed_link(ada, smtp_server)
    clock.advance(48 * 3600 + 1)
    expired = new_browser().open_link(first)
    assert expired.status_code == 410 and "has expired" in page(expired)
    opener = new_browser()
    opener.post_form("/confirm", {"email": "ada@example.com"})  # "Send a new link"
    second = link_in([m for m in smtp_server.messages if m["Subject"] == CONFIRM_SUBJECT][1], "/confirm/")
    assert opener.open_link(flip(second)).status_code == 400
    assert query("all_users_for_tests")[0]["confirmed_at"] is None
    assert opener.open_link(second).status_code == 200
    assert new_browser().open_link(second).status_code == 410
    # A code that confirms the address, never a way in: it signed nobody in.
    assert opener.client.get("/profile").status_code == 303


# -- V2.5 Credential recovery -------------------------------------------------

@pytest.mark.both_databases
def test_6_4_1_recovery_email_carries_a_one_time_link_never_a_password(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.4.1; 4.0.3 2.5.1: the reset email holds a link whose token carries only the user id and a
    fingerprint."""
    ask(new_browser())
    mail = mail_to(smtp_server, "ada@example.com", RESET_SUBJECT)
    assert PASSWORD not in text(mail) and pwdhash(query) not in text(mail)
    token = token_of(reset_link(smtp_server))
    payload = token.split(".")[0]
    uid, fingerprint = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert uid == 1 and len(fingerprint) == 32 and fingerprint not in pwdhash(query)
    # Nothing stores the token; the outbox drops the text once it is delivered.
    assert token not in str(query("all_outbox_for_tests") + query("all_users_for_tests"))


def test_6_4_3_recovery_never_reveals_the_current_password(ada, new_browser, smtp_server, query):
    """ASVS 5.0 6.4.3; 4.0.3 2.5.3: neither the reset email nor the reset page shows the password or its hash."""
    stored = pwdhash(query)
    ask(new_browser())
    link = reset_link(smtp_server)
    shown = [text(mail_to(smtp_server, "ada@example.com", RESET_SUBJECT)), page(new_browser().open_link(link))]
    choose(new_browser(), link)
    shown.append(text(mail_to(smtp_server, "ada@example.com", CHANGED_SUBJECT)))
    for secret in (PASSWORD, stored, stored.rsplit("$", 1)[1]):
        assert not any(secret in item for item in shown), secret


def test_6_3_7_user_is_notified_when_the_password_changes(ada, smtp_server):
    """ASVS 5.0 6.3.7; 4.0.3 2.5.5: changing the password (an authentication factor) sends the owner a notice."""
    change_password(ada)
    notice = mail_to(smtp_server, "ada@example.com", CHANGED_SUBJECT)
    assert "every other browser signed in to it has been signed out" in text(notice)
    assert "http://localhost/forgot" in text(notice)  # what to do if it was not them


def test_6_4_3_reset_link_is_single_use_short_lived_and_bound_to_the_password(ada, new_browser, smtp_server,
                                                                               clock):
    """ASVS 5.0 6.4.3; 4.0.3 2.5.6: the reset link works once, for 1 hour, only for reset, and dies when the password
    changes."""
    ask(new_browser())
    ask(new_browser())
    first, second = reset_link(smtp_server, 0), reset_link(smtp_server, 1)
    confirm = mailed_link(ada, smtp_server)
    for forged in (flip(first), "/reset/" + token_of(confirm)):
        assert new_browser().open_link(forged).status_code == 400, forged
    assert choose(new_browser(), second).status_code == 303
    assert choose(new_browser(), second, "another new password", form_path="/forgot").status_code == 410
    assert new_browser().open_link(first).status_code == 410  # bound to the old password hash
    ask(new_browser())
    third = reset_link(smtp_server, 2)
    clock.advance(3600 + 1)
    expired = new_browser().open_link(third)
    assert expired.status_code == 410 and "This link has expired" in page(expired)


# -- V3 Session management ----------------------------------------------------

@pytest.mark.both_databases
def test_7_2_4_password_change_renews_the_session_id_and_keeps_keep_me_signed_in(app, query):
    """ASVS 5.0 7.2.4; 4.0.3 3.2.1: re-authenticating (current password) gives a new session id; "Keep me signed in"
    stays."""
    client = signed_in(app)
    AuthActions(client).signout()
    signin(client, remember=True)
    old = client.get_cookie("wsgiauth").value
    response = AuthActions(client).post_form("/account/password", {
        "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, form_path="/account")
    assert response.status_code == 303
    (cookie,) = [c for c in cookie_headers(response) if c.startswith("wsgiauth=")]
    assert client.get_cookie("wsgiauth").value != old
    assert "Max-Age=2592000" in cookie  # still persistent: 30 days
    assert [row["remember"] for row in query("sessions_detail_for_tests")] == [1]
    assert client.get("/profile").status_code == 200
    replay = Client(app)
    replay.set_cookie("wsgiauth", old)
    assert replay.get("/profile").status_code == 303


def test_7_4_3_password_change_and_reset_end_the_other_sessions(ada, new_browser, smtp_server, query):
    """ASVS 5.0 7.4.3; 4.0.3 3.3.3 (Level 2): after a password change every other session ends; after a reset, all of
    them."""
    phone = new_browser()
    phone.signin()
    change_password(ada)
    assert phone.client.get("/profile").status_code == 303
    assert ada.client.get("/profile").status_code == 200
    phone.signin(password=NEW_PASSWORD)
    ask(new_browser())
    choose(new_browser(), reset_link(smtp_server), "the third password")
    assert query("all_sessions_for_tests") == []
    assert phone.client.get("/profile").status_code == 303 and ada.client.get("/profile").status_code == 303


def test_7_5_1_sensitive_changes_need_the_current_password(ada, new_browser, query, smtp_server, clock):
    """ASVS 5.0 7.5.1; 4.0.3 3.7.1 (5.0: 7.5.1, 7.5.2): a signed-in session alone (an unlocked computer, 10 minutes
    after the password was typed) cannot change the email or password, delete the account or sign out other
    sessions."""
    phone = new_browser()
    phone.signin()
    before = query("all_users_for_tests")
    token = csrf_token_in(page(ada.client.get("/account")))
    clock.advance(10 * 60)
    for path, fields in [("/account/email", {"email": "ada@newmail.example"}),
                         ("/account/password", {"new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD}),
                         ("/account/delete", {"delete_confirm": "DELETE"}), ("/signout/others", {})]:
        response = ada.client.post(path, data={**fields, "csrf_token": token})
        assert response.status_code == 403 and "<h1>Confirm access</h1>" in page(response), path
    assert ada.client.get("/account").headers["Location"] == "/confirm-access?next=/account"
    assert query("all_users_for_tests") == before
    assert phone.client.get("/profile").status_code == 200
    assert smtp_server.messages == []  # no link, no notice


# -- V1.6.3: key rotation covers email links and notices ------------------------

def test_11_2_2_email_links_signed_with_an_old_key_work_while_it_is_a_fallback(make_app, make_user, smtp_server):
    """ASVS 5.0 11.2.2; 4.0.3 1.6.3 (Level 2): after a key rotation, links already mailed still work while the old
    key is a fallback."""
    old = make_app(MAIL_URL=smtp_server.url)
    make_user(old)
    ada = AuthActions(ClosingClient(old))
    ada.signin()
    confirm = mailed_link(ada, smtp_server)
    AuthActions(ClosingClient(old)).post_form("/forgot", {"email": "ada@example.com"})
    reset = reset_link(smtp_server)
    new_key_only = make_app(MAIL_URL=smtp_server.url, SECRET_KEY=OTHER_KEY)
    for link in (confirm, reset):
        assert AuthActions(Client(new_key_only)).open_link(link).status_code == 400, link
    rotated = make_app(MAIL_URL=smtp_server.url, SECRET_KEY=OTHER_KEY, SECRET_KEY_FALLBACKS=TEST_SECRET_KEY)
    assert AuthActions(Client(rotated)).open_link(confirm).status_code == 200
    browser_after = AuthActions(ClosingClient(rotated))
    assert choose(browser_after, reset, NEW_PASSWORD).status_code == 303
    # The notice cookie of the now signed-out browser is signed with the new key.
    assert "Your password has been changed. Please sign in." in page(browser_after.client.get("/signin"))
    assert browser_after.signin(password=NEW_PASSWORD).status_code == 303


def test_11_2_2_notice_cookie_signed_with_an_old_key_is_still_shown(make_app):
    """ASVS 5.0 11.2.2; 4.0.3 1.6.3 (Level 2): a one-shot notice signed just before a key rotation is still believed."""
    old = make_app()
    client = signed_in(old)
    AuthActions(client).post_form("/account/delete", {"delete_confirm": "DELETE"}, form_path="/account")
    notice = client.get_cookie("wsgiauth-notice").value
    for config, shown in [({}, False), ({"SECRET_KEY_FALLBACKS": TEST_SECRET_KEY}, True)]:
        other = Client(make_app(SECRET_KEY=OTHER_KEY, **config))
        other.set_cookie("wsgiauth-notice", notice)
        assert ("Your account has been deleted." in page(other.get("/"))) == shown


# -- V7 and V14.4.6: the audit trail and the Referer of token pages -----------

@pytest.mark.both_databases
def test_16_2_5_account_page_events_are_recorded_without_secrets(make_app, smtp_server, query, caplog, clock):
    """ASVS 5.0 16.2.5; 4.0.3 7.1.1-7.1.3: changes to the account are in the trail, never a password, token or typed
    email."""
    app = make_app(MAIL_URL=smtp_server.url)
    strict = make_app(MAIL_URL=smtp_server.url, REQUIRE_CONFIRMED_EMAIL=True)
    ada = AuthActions(ClosingClient(app))
    third = "the third password"
    with caplog.at_level(logging.INFO, logger="wsgiauth.audit"):
        ada.signup()
        assert AuthActions(ClosingClient(strict)).signin().status_code == 403
        change_password(ada)
        ask_email_change(ada)
        moved = link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/")
        assert AuthActions(Client(app)).open_link(moved).status_code == 200
        AuthActions(ClosingClient(app)).post_form("/forgot", {"email": "ada@newmail.example"})
        reset = reset_link(smtp_server)
        choose(AuthActions(ClosingClient(app)), reset, third)
        ada.signin(email="ada@newmail.example", password=third)
        clock.advance(10 * 60)
        for password in (PASSWORD, third):  # Confirm access: a wrong password, then the right one
            ada.post_form("/confirm-access", {"password": password})
        delete(ada)
    events = query("security_events_for_tests")
    assert [e["event"] for e in events] == ["signup", "signin_unconfirmed", "password_change", "email_change_requested",
                                            "email_change", "password_reset", "signin", "access_confirm_failed",
                                            "access_confirmed", "account_delete"]
    assert {e["uid"] for e in events} == {1}
    confirm = link_in(mail_to(smtp_server, "ada@example.com", CONFIRM_SUBJECT), "/confirm/")
    everything = str(events) + caplog.text
    for secret in (PASSWORD, NEW_PASSWORD, third, "ada@example.com", "ada@newmail.example",
                   token_of(moved), token_of(reset), token_of(confirm)):
        assert secret not in everything, secret


def test_14_2_1_a_token_in_the_url_leaves_it_at_once_and_is_never_passed_on(ada, new_browser, smtp_server):
    """ASVS 5.0 14.2.1 (4.0.3 14.4.6): the answer on a URL holding an email token, good or bad, only moves the token
    into a cookie and redirects to the page without it; that answer sends Referrer-Policy: no-referrer, and
    neither it nor the page behind it carries the token anywhere."""
    ask(new_browser())
    reset = reset_link(smtp_server)
    confirm = mailed_link(ada, smtp_server)
    ask_email_change(ada)
    moved = link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/")
    stranger = new_browser()
    for link, page_path in ((reset, "/reset"), (flip(confirm), "/confirm/link"), (confirm, "/confirm/link"),
                            (moved, "/account/email/link"), ("/reset/" + "A" * 2000, "/reset")):
        response = stranger.client.get(link)
        assert (response.status_code, response.headers["Location"]) == (303, page_path), link
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert token_of(link) not in response.get_data(as_text=True)
        shown = stranger.client.get(page_path)
        assert token_of(link) not in shown.get_data(as_text=True) + str(shown.headers), link
    for path in ("/signin", "/forgot", "/confirm", "/reset"):
        assert stranger.client.get(path).headers["Referrer-Policy"] == "same-origin"


# -- More of V2.1 and V4.1 on the account pages ---------------------------------

def test_6_2_7_account_and_reset_forms_let_password_managers_work(ada, new_browser, smtp_server, mail_app):
    """ASVS 5.0 6.2.7; 4.0.3 2.1.11: every password field says current- or new-password; nothing blocks paste."""
    ask(new_browser())
    for path in ("/account", "/confirm-access", reset_link(smtp_server)):
        form = page(ada.open_link(path) if path.startswith("/reset/") else ada.client.get(path))
        fields = re.findall(r'<input[^>]*type="password"[^>]*>', form)
        assert fields and all(re.search(r'autocomplete="(current|new)-password"', f) for f in fields), path
        assert "onpaste" not in form and scripts_in(form) == passwords_js(mail_app)


def test_8_3_1_account_pages_are_checked_on_the_server(new_browser, make_user, mail_app, query):
    """ASVS 5.0 8.3.1; 4.0.3 4.1.1: every account page and form needs the server-side session; /account returns after
    sign-in."""
    visitor = new_browser()
    assert visitor.client.get("/account").headers["Location"] == "/signin?next=/account"
    visitor.client.set_cookie("wsgiauth", "made-up.value")
    for action in ("name", "email", "password", "delete"):
        response = visitor.post_form(f"/account/{action}", {"firstname": "Eve", "lastname": "Eve",
                                                            "delete_confirm": "DELETE"}, form_path="/signin")
        assert (response.status_code, response.headers["Location"]) == (303, "/signin"), action
    make_user(mail_app)
    assert visitor.post_form("/signin?next=/account", {"email": "ada@example.com", "password": PASSWORD,
                                                       "next": "/account"}).headers["Location"] == "/account"
    assert query("all_users_for_tests")[0]["firstname"] == "Ada"
