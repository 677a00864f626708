"""Forgotten password end to end: the same answer for every address, the link from the email, its limits."""

import email
import email.policy
import re

import pytest
from helpers import csrf_token_in
from test_confirm import flip, mailed_link
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import ClosingClient
from smtpserver import link_in, mail_to, text

SUBJECT = "Reset your password"
ANSWER = "If an account exists for that address, we have sent a link to reset its password."
CHANGED = "Your password has been changed. Please sign in."


def page(response):
    """Return a response's text."""
    return response.get_data(as_text=True)


def ask(browser, email="ada@example.com"):
    """Fill in the Forgot form; return the response."""
    return browser.post_form("/forgot", {"email": email})


def reset_link(smtp_server, n=0):
    """Return the path of the n-th reset link Ada was sent."""
    mails = [m for m in smtp_server.messages if m["Subject"] == SUBJECT]
    return link_in(mails[n], "/reset/")


def choose(browser, link, password="a brand new password", again=None, form_path=None):
    """Open the link, post the new password (twice) on the page it leads to (token from form_path if given)."""
    opened = browser.open_link(link)
    form = page(browser.client.get(form_path) if form_path else opened)
    return browser.client.post("/reset", data={"password": password,
                                               "password2": password if again is None else again,
                                               "csrf_token": csrf_token_in(form)})


def test_signin_page_links_to_forgot(client):
    assert '<a href="/forgot">Forgot your password?</a>' in page(client.get("/signin"))


@pytest.mark.both_databases
def test_same_answer_for_known_and_unknown_addresses(ada, new_browser, smtp_server, query):
    answers = []
    for address in ("ada@example.com", "nobody@example.com"):
        browser = new_browser()
        response = ask(browser, address)
        assert (response.status_code, response.headers["Location"]) == (303, "/forgot/sent")
        shown = browser.client.get("/forgot/sent")
        assert ANSWER in page(shown)
        # Byte for byte the same, once the per-browser CSRF token is taken out.
        answers.append((response.status_code, response.headers["Location"], response.get_data(),
                        shown.status_code, re.sub(rb'value="[^"]{20,}"', b"", shown.get_data())))
    assert answers[0] == answers[1]
    # Mail only for the real account, but the same limit row for both.
    assert len([m for m in smtp_server.messages if m["Subject"] == SUBJECT]) == 1
    assert len([row for row in query("attempts_for_tests") if row["bucket"] == "reset-mail"]) == 2


def test_forgot_form_checks_the_address(new_browser):
    response = ask(new_browser(), "not an address")
    assert response.status_code == 200 and "Please enter your email address." in page(response)


@pytest.mark.both_databases
def test_reset_from_the_emailed_link(ada, new_browser, smtp_server, query):
    other_device = new_browser()
    other_device.signin()
    stranger = new_browser()
    ask(stranger)
    mail = mail_to(smtp_server, "ada@example.com", SUBJECT)
    assert "Hello Ada," in text(mail) and "within 1 hour" in text(mail)
    link = reset_link(smtp_server)

    form = stranger.open_link(link)  # the token is now in a cookie, not the address
    assert form.status_code == 200 and "New password again" in page(form)
    # For password managers: the account the new password belongs to.
    assert '<input type="email" name="username" autocomplete="username" value="ada@example.com" hidden>' in page(form)
    assert 'action="/reset"' in page(form)
    mismatch = choose(stranger, link, again="something else")
    assert mismatch.status_code == 200 and "The two passwords do not match." in page(mismatch)
    assert "Password must be at least 8 characters." in page(choose(stranger, link, "short"))
    before = query("all_users_for_tests")[0]["pwdhash"]

    done = choose(stranger, link)
    assert (done.status_code, done.headers["Location"]) == (303, "/signin")
    assert CHANGED in page(stranger.client.get("/signin"))
    assert CHANGED not in page(stranger.client.get("/signin"))  # shown once
    assert query("all_users_for_tests")[0]["pwdhash"] != before
    # Every session of the account has ended, and no new one began.
    assert query("all_sessions_for_tests") == []
    for browser in (ada, other_device, stranger):
        assert browser.client.get("/profile").status_code == 303
    notice = mail_to(smtp_server, "ada@example.com", "Your password has been changed")
    assert "http://localhost/forgot" in text(notice)

    assert stranger.signin().status_code == 200  # the old password
    assert stranger.signin(password="a brand new password").headers["Location"] == "/profile"
    used = stranger.open_link(link)
    assert used.status_code == 410 and "This link has already been used" in page(used)
    assert 'href="/forgot"' in page(used)


def test_link_expires_after_an_hour(ada, new_browser, smtp_server, clock, query):
    ask(new_browser())
    link = reset_link(smtp_server)
    clock.advance(3600)
    assert new_browser().open_link(link).status_code == 200
    clock.advance(1)
    browser = new_browser()
    assert browser.open_link(link).status_code == 410
    before = query("all_users_for_tests")[0]["pwdhash"]
    response = choose(browser, link, form_path="/forgot")  # the page has no form to take a token from
    assert response.status_code == 410 and "This link has expired" in page(response)
    assert query("all_users_for_tests")[0]["pwdhash"] == before


def test_a_password_change_kills_older_links(ada, new_browser, smtp_server):
    ask(new_browser())
    ask(new_browser())
    first, second = reset_link(smtp_server, 0), reset_link(smtp_server, 1)
    assert choose(new_browser(), second).status_code == 303
    # The first link was bound to the old password hash.
    assert choose(new_browser(), first, form_path="/forgot").status_code == 410
    ask(new_browser())
    third = reset_link(smtp_server, 2)
    ada.signin(password="a brand new password")
    ada.post_form("/account/password", {"new_password": "yet another password",
                                        "new_password2": "yet another password"}, form_path="/account")
    assert new_browser().open_link(third).status_code == 410


def test_tampered_and_foreign_links_are_refused(ada, new_browser, smtp_server, query):
    ask(new_browser())
    link = reset_link(smtp_server)
    confirm_link = mailed_link(ada, smtp_server)
    before = query("all_users_for_tests")[0]["pwdhash"]
    for bad in (flip(link), link[:-3],
                "/reset/" + confirm_link.rsplit("/", 1)[1], "/reset/nonsense"):
        browser = new_browser()
        assert browser.open_link(bad).status_code == 400, bad
        response = choose(browser, bad, form_path="/forgot")
        assert response.status_code == 400 and "This link is not valid" in page(response)
    assert query("all_users_for_tests")[0]["pwdhash"] == before


@pytest.mark.both_databases
def test_a_link_changes_only_its_own_account(ada, new_browser, make_user, mail_app, smtp_server, query):
    make_user(mail_app, firstname="Bob", email="bob@example.com")
    bob = new_browser()
    bob.signin(email="bob@example.com")
    ask(new_browser(), "bob@example.com")
    # Ada, signed in, opens Bob's link: it resets Bob, and signs Ada's browser out.
    assert choose(ada, link_in(mail_to(smtp_server, "bob@example.com", SUBJECT), "/reset/")).status_code == 303
    assert query("all_sessions_for_tests") == []  # Bob's own and Ada's browser's
    assert bob.client.get("/profile").status_code == 303 and ada.client.get("/profile").status_code == 303
    assert new_browser().signin(email="bob@example.com", password="a brand new password").status_code == 303
    assert new_browser().signin().status_code == 303  # Ada's own password is unchanged


def test_at_most_three_reset_emails_per_account_per_hour(ada, new_browser, smtp_server, clock):
    for _ in range(4):
        response = ask(new_browser())
        assert response.status_code == 303  # the same answer when the limit holds
        clock.advance(60)
    assert len([m for m in smtp_server.messages if m["Subject"] == SUBJECT]) == 3
    clock.advance(3600 - 4 * 60 + 1)
    ask(new_browser())
    assert len([m for m in smtp_server.messages if m["Subject"] == SUBJECT]) == 4


def test_links_come_from_base_url_not_the_host_header(make_app, make_user, smtp_server):
    app = make_app(MAIL_URL=smtp_server.url, BASE_URL="https://accounts.example.org/auth")
    make_user(app)
    # Password-reset poisoning: the attacker asks for Ada's link with their own Host.
    evil = ClosingClient(app)
    token = csrf_token_in(page(evil.get("/forgot", headers={"Host": "evil.example"})))
    evil.post("/forgot", data={"email": "ada@example.com", "csrf_token": token}, headers={"Host": "evil.example"})
    mail = mail_to(smtp_server, "ada@example.com", SUBJECT)
    assert link_in(mail, "/auth/reset/", base_url="https://accounts.example.org")
    assert "evil.example" not in text(mail)


def test_without_base_url_development_links_follow_the_request(make_app, tmp_path):
    app = make_app(BASE_URL="")  # development, with the file:// outbox
    browser, here = ClosingClient(app), "http://127.0.0.1:5000/"
    token = csrf_token_in(page(browser.get("/signup", base_url=here)))
    browser.post("/signup", base_url=here, data={"firstname": "Ada", "lastname": "Lovelace",
                                                 "email": "ada@example.com", "password": "correct horse",
                                                 "csrf_token": token})
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    mail = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "http://127.0.0.1:5000/confirm/" in text(mail)


# -- ASVS 5.0 14.2.1: the token leaves the address on first use ------------------

def link_cookie(response, name="wsgiauth-reset-password"):
    """Return the one Set-Cookie header of the reset link's cookie in a response."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def new_password_form(password="a brand new password"):
    """Return the fields of the reset form, without its CSRF token."""
    return {"password": password, "password2": password}


@pytest.mark.both_databases
def test_the_token_moves_to_a_cookie_only_the_reset_page_gets(ada, new_browser, smtp_server, query):
    ask(new_browser())
    link = reset_link(smtp_server)
    token = link.rsplit("/", 1)[1]
    browser = new_browser()
    moved = browser.client.get(link)
    # The address the browser shows (and keeps in its history) has no token.
    assert (moved.status_code, moved.headers["Location"]) == (303, "/reset")
    cookie = link_cookie(moved)
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert attributes == {"HttpOnly", "SameSite", "Path", "Max-Age", "Expires"}, cookie
    assert "; Path=/reset" in cookie and "; Max-Age=900" in cookie and "; SameSite=Lax" in cookie
    assert token not in str(moved.headers) + page(moved)
    # The page works from the cookie, and its form posts to the same token-free URL.
    form = browser.client.get("/reset")
    assert form.status_code == 200 and 'action="/reset"' in page(form) and token not in page(form)
    # A second browser, without the cookie, is told the link does not work, and changes nothing.
    before = query("all_users_for_tests")[0]["pwdhash"]
    other = new_browser()
    refused = other.client.get("/reset")
    assert refused.status_code == 400 and "This link is not valid" in page(refused)
    posted = other.client.post("/reset", data={**new_password_form(),
                                               "csrf_token": csrf_token_in(page(other.client.get("/forgot")))})
    assert posted.status_code == 400 and query("all_users_for_tests")[0]["pwdhash"] == before
    # Used: the cookie is expired with the redirect to sign-in, and the page no longer works.
    done = browser.client.post("/reset", data={**new_password_form(), "csrf_token": csrf_token_in(page(form))})
    assert (done.status_code, done.headers["Location"]) == (303, "/signin")
    expired = link_cookie(done)
    assert "; Max-Age=0" in expired and "; Path=/reset" in expired and "; HttpOnly" in expired
    assert browser.client.get("/reset").status_code == 400
    assert query("all_users_for_tests")[0]["pwdhash"] != before


def test_the_cookie_lasts_15_minutes_and_a_forged_one_is_refused(ada, new_browser, smtp_server, clock, mail_app):
    ask(new_browser())
    link = reset_link(smtp_server)
    browser = new_browser()
    browser.client.get(link)
    clock.advance(900)
    assert browser.client.get("/reset").status_code == 200
    clock.advance(1)
    assert browser.client.get("/reset").status_code == 400  # the link itself still works for 1 hour
    assert browser.open_link(link).status_code == 200
    # The token itself is no cookie: it is signed for another purpose (its own salt).
    forger = new_browser()
    forger.client.set_cookie("wsgiauth-reset-password", link.rsplit("/", 1)[1], path="/reset")
    assert forger.client.get("/reset").status_code == 400


def test_with_secure_cookies_the_link_cookie_is_secure_and_prefixed(make_app):
    client = ClosingClient(make_app(SECURE_COOKIES=True))
    moved = client.get("/confirm/some-token", base_url="https://localhost")
    assert moved.headers["Location"] == "/confirm/link"
    cookie = link_cookie(moved, "__Secure-wsgiauth-confirm-email")
    assert "; Secure" in cookie and "; Path=/confirm/link" in cookie and "; HttpOnly" in cookie


def test_the_link_cookie_is_path_limited_under_a_mount_too(app):
    client = Client(DispatcherMiddleware(Response("the bigger app"), {"/auth": app}))
    moved = client.get("/auth/account/email/some-token")
    assert moved.headers["Location"] == "/auth/account/email/link"
    assert "; Path=/auth/account/email/link" in link_cookie(moved, "wsgiauth-change-email")
