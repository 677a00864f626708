"""Account settings end to end: name, email (by the link to the new address), password, deletion; notices."""

import pytest
from test_confirm import flip, mailed_link
from test_sessions import session_cookie
from werkzeug.test import Client

from conftest import AuthActions
from smtpserver import link_in, mail_to, text

NEW_PASSWORD = "a brand new password"
CHANGE_SUBJECT = "Confirm your new email address"


def page(response):
    """Return a response's text."""
    return response.get_data(as_text=True)


def settings(browser, action, **fields):
    """Submit one of the forms on /account; return the response."""
    return browser.post_form(f"/account/{action}", fields, form_path="/account")


def change_password(browser, new=NEW_PASSWORD, again=None):
    """Submit the change-password form (access was confirmed by signing in, a moment ago)."""
    return settings(browser, "password", new_password=new, new_password2=new if again is None else again)


def ask_email_change(browser, email="ada@newmail.example"):
    """Submit the change-email form."""
    return settings(browser, "email", email=email)


def delete(browser, confirm="DELETE"):
    """Submit the delete-account form."""
    return settings(browser, "delete", delete_confirm=confirm)


def twin(browser):
    """Return a second client carrying a copy of browser's session cookie (a thief, or another tab)."""
    copy = Client(browser.client.application)
    copy.set_cookie("wsgiauth", session_cookie(browser.client))
    return copy


def test_account_needs_sign_in(client):
    response = client.get("/account")
    assert (response.status_code, response.headers["Location"]) == (303, "/signin?next=/account")


def test_forms_need_sign_in_too(new_browser):
    browser = new_browser()
    for action in ("name", "email", "password", "delete"):
        response = browser.post_form(f"/account/{action}", {}, form_path="/signin")
        assert (response.status_code, response.headers["Location"]) == (303, "/signin")


def test_profile_links_to_the_settings_page(ada):
    assert '<a class="button secondary" href="/account">Account settings</a>' in page(ada.client.get("/profile"))
    settings_page = page(ada.client.get("/account"))
    for heading in ("Name", "Email address", "Password", "Delete account"):
        assert f">{heading}</h2>" in settings_page
    assert 'value="Ada"' in settings_page and 'value="Lovelace"' in settings_page


@pytest.mark.both_databases
def test_change_name_with_a_notice_shown_once(ada, query):
    response = settings(ada, "name", firstname="grace", lastname="hopper")
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert "Your name has been updated." in page(ada.client.get("/account"))
    assert "Your name has been updated." not in page(ada.client.get("/account"))
    row = query("all_users_for_tests")[0]
    assert (row["firstname"], row["lastname"]) == ("Grace", "Hopper")  # the sign-up rules
    assert "Grace Hopper" in page(ada.client.get("/profile"))


@pytest.mark.parametrize("fields, message", [
    ({"firstname": "", "lastname": "Hopper"}, "Please enter your first name."),
    ({"firstname": "Grace", "lastname": "x" * 101}, "Last name must be at most 100 characters."),
    ({"firstname": "Grace\r\nBcc: x@example.com", "lastname": "Hopper"},
     "First name must not contain line breaks or control characters."),
])
def test_bad_names_are_refused_and_typed_text_kept(ada, query, fields, message):
    response = settings(ada, "name", **fields)
    assert response.status_code == 200 and message in page(response)
    assert f'value="{fields["lastname"]}"' in page(response)
    assert query("all_users_for_tests")[0]["firstname"] == "Ada"


@pytest.mark.both_databases
def test_email_change_happens_when_the_link_to_the_new_address_is_opened(ada, new_browser, smtp_server,
                                                                          query, clock):
    old_address_link = mailed_link(ada, smtp_server)
    response = ask_email_change(ada)
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    shown = page(ada.client.get("/account"))
    assert "We have sent a link to ada@newmail.example. Your email address will change when you open it." in shown
    assert "You asked to change it to ada@newmail.example" in shown
    row = query("all_users_for_tests")[0]
    assert (row["email"], row["pending_email"]) == ("ada@example.com", "ada@newmail.example")
    mail = mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT)
    assert "instead of ada@example.com" in text(mail)
    # Nothing has changed yet: the old address still signs in, the new one does not.
    assert new_browser().signin(email="ada@newmail.example").status_code == 200

    clock.advance(3600)
    opened = new_browser().open_link(link_in(mail, "/account/email/"))
    assert opened.status_code == 200 and "Your account now uses ada@newmail.example." in page(opened)
    row = query("all_users_for_tests")[0]
    assert (row["email"], row["pending_email"], row["confirmed_at"]) == ("ada@newmail.example", None, clock())
    notice = mail_to(smtp_server, "ada@example.com", "Your email address has been changed")
    assert "now uses ada@newmail.example instead of ada@example.com" in text(notice)
    assert "This is ada@newmail.example's profile page" in page(ada.client.get("/profile"))
    assert new_browser().signin(email="ada@newmail.example").status_code == 303
    assert new_browser().signin(email="ada@example.com").status_code == 200

    again = new_browser().open_link(link_in(mail, "/account/email/"))
    assert again.status_code == 410 and "already been used" in page(again)
    # The confirmation link of the old address is dead too (bound to it): a
    # stranger is told so; Ada, signed in, that her address is confirmed.
    assert new_browser().open_link(old_address_link).status_code == 410
    mine = ada.open_link(old_address_link)
    assert mine.status_code == 200 and "ada@newmail.example was confirmed before" in page(mine)
    assert query("all_users_for_tests")[0]["email"] == "ada@newmail.example"


@pytest.mark.parametrize("email, message", [
    ("ADA@example.com", "That is already your email address."),
    ("not an address", "Please enter your email address."),
])
def test_bad_email_changes_change_nothing(ada, make_user, mail_app, smtp_server, query, email, message):
    make_user(mail_app, firstname="Bob", email="bob@example.com")
    response = ask_email_change(ada, email)
    assert response.status_code == 200 and message in page(response)
    assert 'aria-describedby="email-error' in page(response)
    assert all(row["pending_email"] is None for row in query("all_users_for_tests"))
    assert smtp_server.messages == []


@pytest.mark.both_databases
def test_a_newer_email_change_replaces_the_older_link(ada, new_browser, smtp_server, query):
    ask_email_change(ada, "first@newmail.example")
    ask_email_change(ada, "second@newmail.example")
    first = link_in(mail_to(smtp_server, "first@newmail.example", CHANGE_SUBJECT), "/account/email/")
    second = link_in(mail_to(smtp_server, "second@newmail.example", CHANGE_SUBJECT), "/account/email/")
    assert new_browser().open_link(first).status_code == 410
    assert new_browser().open_link(second).status_code == 200
    assert query("all_users_for_tests")[0]["email"] == "second@newmail.example"


@pytest.mark.both_databases
def test_address_taken_before_the_link_is_opened(ada, new_browser, make_user, mail_app, smtp_server, query):
    ask_email_change(ada)
    make_user(mail_app, firstname="Eve", email="ada@newmail.example")
    response = new_browser().open_link(link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT),
                                                "/account/email/"))
    assert response.status_code == 409
    assert "That email address now belongs to another account" in page(response)
    assert query("all_users_for_tests")[0]["email"] == "ada@example.com"


def test_email_change_links_expire_and_refuse_tampering(ada, new_browser, smtp_server, clock):
    ask_email_change(ada)
    link = link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/")
    assert new_browser().open_link(flip(link)).status_code == 400
    clock.advance(48 * 3600 + 1)
    response = new_browser().open_link(link)
    assert response.status_code == 410 and "This link has expired" in page(response)


@pytest.mark.both_databases
def test_at_most_three_email_changes_an_hour(ada, smtp_server):
    for n in range(3):
        assert ask_email_change(ada, f"ada{n}@newmail.example").status_code == 303
    response = ask_email_change(ada, "ada3@newmail.example")
    assert response.status_code == 429 and "Please try again in 60 minutes." in page(response)


@pytest.mark.both_databases
def test_change_password_ends_other_sessions_and_renews_this_one(ada, new_browser, smtp_server, query):
    phone = new_browser()
    phone.signin()
    thief = twin(ada)
    old_cookie = session_cookie(ada.client)
    response = change_password(ada)
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert session_cookie(ada.client) != old_cookie  # this browser: a new session id...
    assert "Your password has been changed." in page(ada.client.get("/account"))  # ...still signed in
    assert phone.client.get("/profile").status_code == 303
    assert thief.get("/profile").status_code == 303  # the copy of the old cookie is worthless
    assert len(query("all_sessions_for_tests")) == 1
    notice = mail_to(smtp_server, "ada@example.com", "Your password has been changed")
    assert "every other browser signed in to it has been signed out" in text(notice)
    assert new_browser().signin(password=NEW_PASSWORD).status_code == 303
    assert new_browser().signin().status_code == 200


@pytest.mark.parametrize("new, again, field, message", [
    (NEW_PASSWORD, "something else", "new_password2", "The two passwords do not match."),
    ("short", None, "new_password", "Password must be at least 8 characters."),
    ("", None, "new_password", "Please enter a password."),
])
def test_bad_password_changes_change_nothing(ada, new_browser, smtp_server, query, new, again, field, message):
    phone = new_browser()
    phone.signin()
    before = query("all_users_for_tests")[0]["pwdhash"]
    response = change_password(ada, new, again)
    assert response.status_code == 200 and message in page(response)
    assert f'aria-describedby="{field}-error' in page(response)
    if new:
        assert new not in page(response)  # a password is never shown back
    assert query("all_users_for_tests")[0]["pwdhash"] == before
    assert phone.client.get("/profile").status_code == 200
    assert smtp_server.messages == []  # no notice


@pytest.mark.both_databases
def test_delete_account(ada, new_browser, smtp_server, query):
    phone = new_browser()
    phone.signin()
    thief = twin(ada)
    confirm_link = mailed_link(ada, smtp_server)
    ask_email_change(ada)
    new_browser().post_form("/forgot", {"email": "ada@example.com"})
    links = [confirm_link,
             link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/"),
             link_in(mail_to(smtp_server, "ada@example.com", "Reset your password"), "/reset/")]

    response = delete(ada)
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert "Your account has been deleted." in page(ada.client.get("/"))
    assert "Your account has been deleted." not in page(ada.client.get("/"))
    assert query("all_users_for_tests") == [] and query("all_sessions_for_tests") == []
    for browser in (ada.client, phone.client, thief):
        assert browser.get("/profile").status_code == 303
        assert ">Sign In<" in page(browser.get("/"))
    for link in links:  # every pending link died with the account
        assert new_browser().open_link(link).status_code == 410, link
    assert new_browser().signin().status_code == 200
    # The address is free again.
    assert new_browser().signup().status_code == 303


@pytest.mark.parametrize("confirm", ["delete", ""])
def test_delete_needs_the_word(ada, query, confirm):
    response = delete(ada, confirm)
    assert response.status_code == 200 and "Please type DELETE (in capitals) to confirm." in page(response)
    assert 'aria-describedby="delete_confirm-error' in page(response)
    assert len(query("all_users_for_tests")) == 1
    assert ada.client.get("/profile").status_code == 200


def test_signed_out_notices_travel_in_a_signed_short_lived_cookie(ada, clock):
    delete(ada)
    cookie = ada.client.get_cookie("wsgiauth-notice")
    assert cookie is not None and "deleted" not in cookie.value  # signed (and encoded), not plain text
    forged = AuthActions(Client(ada.client.application))
    forged.client.set_cookie("wsgiauth-notice", cookie.value[:-2] + "xx")
    assert "Your account has been deleted." not in page(forged.client.get("/"))
    late = Client(ada.client.application)
    late.set_cookie("wsgiauth-notice", cookie.value)
    clock.advance(301)
    assert "Your account has been deleted." not in page(late.get("/"))


def test_the_email_change_link_acts_from_a_cookie_on_an_address_without_the_token(ada, new_browser, smtp_server,
                                                                                  query):
    """ASVS 5.0 14.2.1: /account/email/<token> only moves the token into a cookie; /account/email/link acts."""
    ask_email_change(ada)
    link = link_in(mail_to(smtp_server, "ada@newmail.example", CHANGE_SUBJECT), "/account/email/")
    browser = new_browser()
    moved = browser.client.get(link)
    assert (moved.status_code, moved.headers["Location"]) == (303, "/account/email/link")
    assert query("all_users_for_tests")[0]["email"] == "ada@example.com"
    (cookie,) = moved.headers.getlist("Set-Cookie")
    assert cookie.startswith("wsgiauth-change-email=") and link.rsplit("/", 1)[1] not in cookie
    assert "; HttpOnly" in cookie and "; Path=/account/email/link" in cookie and "; Max-Age=900" in cookie
    assert new_browser().client.get("/account/email/link").status_code == 400  # no cookie: no link
    assert query("all_users_for_tests")[0]["email"] == "ada@example.com"
    done = browser.client.get("/account/email/link")
    assert done.status_code == 200 and "Your account now uses ada@newmail.example." in page(done)
    (expired,) = done.headers.getlist("Set-Cookie")
    assert expired.startswith("wsgiauth-change-email=;") and "; Max-Age=0" in expired
    assert browser.client.get("/account/email/link").status_code == 400


def test_the_delete_form_says_how_long_the_security_record_is_kept(ada, make_app):
    """ASVS 5.0 14.1.2: a person deleting their account is told what stays, and for how long (the retention setting)."""
    text = " ".join(page(ada.client.get("/account")).split())
    assert "The record of its sign-ins and security events is kept for 400 days after it happened" in text
    keeping = new_signed_in = AuthActions(Client(make_app(AUDIT_RETENTION_DAYS=0)))
    assert new_signed_in.signin().status_code == 303
    text = " ".join(page(keeping.client.get("/account")).split())
    assert "The record of its sign-ins and security events is kept, to investigate misuse." in text
