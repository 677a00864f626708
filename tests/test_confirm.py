"""Email confirmation end to end: the link from the received email, expiry, reuse, tampering, a new link."""

import base64
import json

import pytest
from helpers import csrf_token_in

from wsgiauth.tokens import RESET_PASSWORD

from conftest import AuthActions, ClosingClient
from smtpserver import link_in, mail_to, text

SUBJECT = "Please confirm your email address"
NOT_CONFIRMED = "Your email address is not confirmed yet"
SENT_IF_WAITING = "If an account with that address is waiting for confirmation, we have sent it a new link."


def confirmation_link(smtp_server, address="ada@example.com"):
    """Return the path of the confirmation link mailed to address."""
    return link_in(mail_to(smtp_server, address, SUBJECT), "/confirm/")


def mailed_link(browser, smtp_server, address="ada@example.com"):
    """Press "Send the link again" on a signed-in browser's profile; return the path of the link mailed to address."""
    response = browser.post_form("/confirm", {}, form_path="/profile")
    assert response.headers["Location"] == "/profile", response.get_data(as_text=True)
    return link_in([m for m in smtp_server.messages if m["To"] == address and m["Subject"] == SUBJECT][-1],
                   "/confirm/")


@pytest.fixture
def ada(new_browser):
    """A browser that has just signed up as Ada (and so is signed in): these tests follow the link sign-up mails."""
    browser = new_browser()
    assert browser.signup().status_code == 303
    return browser


def flip(token):
    """Change the first character of the token's signature (its last part), whatever it is."""
    # Not the last character: it carries base64 padding bits that decoding
    # ignores, so A<->B there may leave the signature as it was.
    rest, signature = token.rsplit(".", 1)
    return rest + "." + ("B" if signature[0] == "A" else "A") + signature[1:]


def page(response):
    """Return a response's text."""
    return response.get_data(as_text=True)


@pytest.mark.both_databases
def test_signup_mails_a_link_that_confirms_the_address(ada, smtp_server, query, clock):
    mail = mail_to(smtp_server, "ada@example.com", SUBJECT)
    assert "Hello Ada," in text(mail) and "within 48 hours" in text(mail)
    profile = page(ada.client.get("/profile"))
    assert "Welcome, Ada! We have sent a link to ada@example.com" in profile
    # One banner (issue 17): the welcome is in the box with the button, in place of its own words.
    assert NOT_CONFIRMED not in profile and ">Send the link again</button>" in profile
    again = page(ada.client.get("/profile"))
    assert "Welcome, Ada!" not in again and NOT_CONFIRMED in again  # a notice is shown once

    response = ada.open_link(confirmation_link(smtp_server))
    assert response.status_code == 200
    assert "Thank you: ada@example.com is confirmed." in page(response)
    assert query("all_users_for_tests")[0]["confirmed_at"] == clock()
    assert NOT_CONFIRMED not in page(ada.client.get("/profile"))


@pytest.mark.both_databases
def test_link_works_in_any_browser_and_only_once(ada, new_browser, smtp_server, query):
    link = confirmation_link(smtp_server)
    elsewhere = new_browser()  # opened on the phone, signed out
    assert elsewhere.open_link(link).status_code == 200
    again = elsewhere.open_link(link)
    assert again.status_code == 410
    assert "This confirmation link has already been used" in page(again)
    # The page offers a new link: an email field for a signed-out browser.
    assert 'action="/confirm"' in page(again) and 'name="email"' in page(again)
    assert query("all_users_for_tests")[0]["confirmed_at"] is not None
    # Opened again where Ada is signed in, her address confirmed: said so
    # plainly (issue 17), no dead end and no offer of a link she does not need.
    mine = ada.open_link(link)
    assert mine.status_code == 200 and "<h1>Your email address is already confirmed</h1>" in page(mine)
    assert 'name="email"' not in page(mine)


def test_link_expires_after_48_hours(ada, smtp_server, query, clock):
    link = confirmation_link(smtp_server)
    clock.advance(48 * 3600 + 1)
    response = ada.open_link(link)
    assert response.status_code == 410
    assert "This confirmation link has expired" in page(response)
    assert ">Send a new link</button>" in page(response)  # signed in: one button
    assert query("all_users_for_tests")[0]["confirmed_at"] is None


def test_link_still_works_at_48_hours(ada, smtp_server, clock):
    link = confirmation_link(smtp_server)
    clock.advance(48 * 3600)
    assert ada.open_link(link).status_code == 200


def test_tampered_and_forged_links_are_refused(ada, new_browser, smtp_server, query, mail_app):
    link = confirmation_link(smtp_server)
    new_browser().signup(firstname="Bob", email="bob@example.com")
    payload, timestamp, signature = link.rsplit("/", 1)[1].split(".")
    bob_uid = query("all_users_for_tests")[1]["uid"]
    # Ada's signature on a payload that names Bob.
    forged = base64.urlsafe_b64encode(json.dumps([bob_uid, "x"]).encode()).decode().rstrip("=")
    # A genuine token, but for another purpose.
    reset_token = mail_app.tokens.make(RESET_PASSWORD, mail_app.db.one("account_by_uid", uid=bob_uid))
    for bad in (flip(link), link[:-5], f"/confirm/{forged}.{timestamp}.{signature}", "/confirm/x",
                "/confirm/" + "A" * 2000, f"/confirm/{reset_token}"):
        response = ada.open_link(bad)
        assert response.status_code == 400, bad
        assert "This confirmation link is not valid" in page(response)
    assert [row["confirmed_at"] for row in query("all_users_for_tests")] == [None, None]


@pytest.mark.both_databases
def test_opening_someone_elses_link_confirms_them_not_you(ada, new_browser, smtp_server, query):
    bob = new_browser()
    bob.signup(firstname="Bob", email="bob@example.com")
    assert bob.open_link(confirmation_link(smtp_server, "ada@example.com")).status_code == 200
    confirmed = {row["email"]: row["confirmed_at"] for row in query("all_users_for_tests")}
    assert confirmed["ada@example.com"] is not None and confirmed["bob@example.com"] is None
    assert NOT_CONFIRMED in page(bob.client.get("/profile"))


@pytest.mark.both_databases
def test_send_the_link_again_at_most_once_per_5_minutes(ada, smtp_server, clock, query):
    def press():
        return ada.post_form("/confirm", {}, form_path="/profile")

    response = press()  # the sign-up email was sent just now
    # Issue 17: back to the profile, told when a link can be sent again, not a 429 error page.
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    profile = page(ada.client.get("/profile"))
    assert "ask for another one in 5 minutes" in profile and "We have sent a new link" not in profile
    clock.advance(299)
    response = press()
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    assert "ask for another one in 1 minute" in page(ada.client.get("/profile"))
    assert len(smtp_server.messages) == 1
    clock.advance(1)
    response = press()
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    assert "We have sent a new link to ada@example.com." in page(ada.client.get("/profile"))
    assert len(smtp_server.messages) == 2
    # Both links are good until one is used (both are for this address).
    first, second = (link_in(m, "/confirm/") for m in smtp_server.messages)
    assert first != second
    assert ada.open_link(second).status_code == 200
    # The first is used up now: refused, and Ada, signed in, is told her address is confirmed.
    used = ada.open_link(first)
    assert used.status_code == 200 and "Your email address is already confirmed" in page(used)
    assert query("all_users_for_tests")[0]["confirmed_at"] == clock()


def test_confirmed_user_pressing_send_again_is_told_so(ada, smtp_server):
    ada.open_link(confirmation_link(smtp_server))
    response = ada.post_form("/confirm", {})
    assert response.status_code == 303
    assert "Your email address is already confirmed." in page(ada.client.get("/profile"))
    assert len(smtp_server.messages) == 1


def test_signed_out_form_answers_the_same_for_any_address(ada, new_browser, smtp_server, clock):
    ada.signout()
    clock.advance(300)
    answers = []
    for email in ("ada@example.com", "nobody@example.com"):
        browser = new_browser()
        response = browser.post_form("/confirm", {"email": email})
        answers.append((response.status_code, response.headers["Location"], response.get_data()))
        assert SENT_IF_WAITING in page(browser.client.get("/signin"))
    assert answers[0] == answers[1]
    assert [m["To"] for m in smtp_server.messages] == ["ada@example.com", "ada@example.com"]
    assert new_browser().post_form("/confirm", {"email": "not an address"}).status_code == 200


@pytest.fixture
def strict_app(make_app, smtp_server):
    """An app with WSGIAUTH_REQUIRE_CONFIRMED_EMAIL=1."""
    return make_app(MAIL_URL=smtp_server.url, REQUIRE_CONFIRMED_EMAIL=True)


@pytest.mark.both_databases
def test_required_confirmation_refuses_sign_in_and_offers_a_new_link(strict_app, smtp_server, clock):
    browser = AuthActions(ClosingClient(strict_app))
    response = browser.signup()
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")
    assert "please open it to confirm your email address, then sign in." in page(browser.client.get("/signin"))
    assert browser.client.get("/profile").status_code == 303  # not signed in

    refused = browser.signin()
    assert refused.status_code == 403
    assert "Your email address is not confirmed yet." in page(refused)
    assert '<input type="hidden" name="email" value="ada@example.com">' in page(refused)
    assert browser.client.get("/profile").status_code == 303
    # A wrong password still gets the usual answer: nothing is given away.
    wrong = browser.signin(password="not the password")
    assert wrong.status_code == 200 and "not confirmed" not in page(wrong)

    clock.advance(300)
    token = csrf_token_in(page(refused))
    browser.client.post("/confirm", data={"csrf_token": token, "email": "ada@example.com"})
    assert len(smtp_server.messages) == 2
    assert browser.open_link(link_in(smtp_server.messages[1], "/confirm/")).status_code == 200
    assert browser.signin().headers["Location"] == "/profile"


@pytest.mark.both_databases
def test_the_link_confirms_from_a_cookie_on_an_address_without_the_token(ada, new_browser, smtp_server, query):
    """ASVS 5.0 14.2.1: /confirm/<token> only moves the token into a cookie; /confirm/link confirms, once."""
    link = confirmation_link(smtp_server)
    token = link.rsplit("/", 1)[1]
    phone = new_browser()
    moved = phone.client.get(link)
    assert (moved.status_code, moved.headers["Location"]) == (303, "/confirm/link")
    assert query("all_users_for_tests")[0]["confirmed_at"] is None  # nothing happens before the redirect
    (cookie,) = moved.headers.getlist("Set-Cookie")
    assert cookie.startswith("wsgiauth-confirm-email=") and token not in cookie
    assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie and "; Path=/confirm/link" in cookie
    assert "; Max-Age=900" in cookie
    # A browser that did not open the link gets "does not work", and confirms nothing.
    other = new_browser().client.get("/confirm/link")
    assert other.status_code == 400 and "This confirmation link is not valid" in page(other)
    assert query("all_users_for_tests")[0]["confirmed_at"] is None
    done = phone.client.get("/confirm/link")
    assert done.status_code == 200 and "Thank you: ada@example.com is confirmed." in page(done)
    assert query("all_users_for_tests")[0]["confirmed_at"] is not None
    (expired,) = done.headers.getlist("Set-Cookie")
    assert expired.startswith("wsgiauth-confirm-email=;") and "; Max-Age=0" in expired
    # Reloaded: no cookie, so no link; where Ada is signed in she is told her address is confirmed.
    assert phone.client.get("/confirm/link").status_code == 400
    mine = ada.client.get("/confirm/link")
    assert mine.status_code == 200 and "Your email address is already confirmed" in page(mine)
