"""Issue 17: a form whose CSRF token expired is shown again with what was typed (never a secret), a fresh token
and a notice; nothing is stored, and the form then works."""

import html

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth.app import FORM_EXPIRED


def text(response):
    """Return a response's text, with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


SIGNUP = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"}


@pytest.mark.parametrize("token", [None, "stale-token"])
def test_signup_expired_is_shown_again_with_what_was_typed_but_not_the_password(client, query, token):
    client.get("/signup")
    data = dict(SIGNUP) if token is None else dict(SIGNUP, csrf_token=token)
    response = client.post("/signup", data=data)
    # 400: nothing was done with what was sent (app.dispatch_request).
    assert response.status_code == 400
    page = text(response)
    assert FORM_EXPIRED in page
    assert 'value="Ada"' in page and 'value="Lovelace"' in page and 'value="ada@example.com"' in page
    assert "correct horse" not in page
    assert query("all_users_for_tests") == []
    # The fresh token on the page works.
    again = client.post("/signup", data=dict(SIGNUP, csrf_token=csrf_token_in(page, "/signup")))
    assert again.status_code == 303 and again.headers["Location"] == "/profile"
    assert len(query("all_users_for_tests")) == 1


def test_signup_without_any_cookie_is_shown_again_with_a_token_that_then_works(app, client, query):
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    fresh = Client(app)  # the session cookie is gone
    response = fresh.post("/signup", data=dict(SIGNUP, csrf_token=token))
    assert response.status_code == 400 and FORM_EXPIRED in text(response)
    assert query("all_users_for_tests") == []
    new_token = csrf_token_in(text(response), "/signup")
    assert new_token != token
    assert fresh.post("/signup", data=dict(SIGNUP, csrf_token=new_token)).status_code == 303


def test_signin_expired_keeps_the_email_and_next_not_the_password(client, make_user):
    make_user()
    client.get("/signin")
    response = client.post("/signin", data={"email": "ada@example.com", "password": "correct horse",
                                            "remember": "1", "next": "/account"})
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert 'value="ada@example.com"' in page and "correct horse" not in page
    assert 'name="next" value="/account"' in page and 'id="remember" name="remember" value="1" checked' in page
    assert client.get("/profile").status_code == 303  # not signed in
    token = csrf_token_in(page, "/signin")
    signed = client.post("/signin", data={"email": "ada@example.com", "password": "correct horse",
                                          "next": "/account", "csrf_token": token})
    assert signed.status_code == 303 and signed.headers["Location"].endswith("/account")


def test_contact_expired_keeps_the_message(client, query):
    data = {"name": "Zoe", "email": "zoe@example.com", "subject": "Hello", "message": "A long message\nkept"}
    response = client.post("/contact", data=data)
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert 'value="Zoe"' in page and 'value="Hello"' in page and "A long message\nkept</textarea>" in page
    assert query("all_contact_messages_for_tests") == []
    sent = client.post("/contact", data=dict(data, csrf_token=csrf_token_in(page, "/contact")))
    assert sent.status_code == 303


@pytest.mark.parametrize("path", ["/forgot", "/confirm"])
def test_email_forms_expired_keep_the_address(client, path):
    response = client.post(path, data={"email": "zoe@example.com"})
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert 'value="zoe@example.com"' in page
    sent = client.post(path, data={"email": "zoe@example.com", "csrf_token": csrf_token_in(page, path)})
    assert sent.status_code == 303


def test_account_name_expired_shows_the_settings_page_with_the_new_name(signed_in, client, query):
    response = client.post("/account/name", data={"firstname": "Augusta", "lastname": "King", "csrf_token": "old"})
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert 'value="Augusta"' in page and 'value="King"' in page
    assert query("all_users_for_tests")[0]["firstname"] == "Ada"  # nothing stored
    token = csrf_token_in(page, "/account/name")
    assert client.post("/account/name", data={"firstname": "Augusta", "lastname": "King",
                                              "csrf_token": token}).status_code == 303
    assert query("all_users_for_tests")[0]["firstname"] == "Augusta"


def test_account_password_expired_never_shows_the_password(signed_in, client):
    response = client.post("/account/password", data={"new_password": "a brand new password",
                                                      "new_password2": "a brand new password"})
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert "a brand new password" not in page


def test_account_form_expired_with_the_session_gone_asks_to_sign_in_and_returns_to_the_page(app, make_user):
    make_user()
    response = Client(app).post("/account/name", data={"firstname": "Augusta", "lastname": "King"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?next=/account"


def test_a_cross_origin_post_is_still_refused(client, query):
    client.get("/signup")
    response = client.post("/signup", data=SIGNUP, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and FORM_EXPIRED not in text(response)


def test_a_form_with_no_page_to_show_again_keeps_the_plain_400(client, signed_in):
    response = client.post("/security/passkeys/options", data={})
    assert response.status_code == 400 and FORM_EXPIRED not in text(response)


def test_sign_out_everywhere_else_expired_shows_the_security_page_with_its_lists(app, make_user):
    """The Security page reads its lists with its session lookup (routes.SESSION_LOOKUPS); shown again for another
    endpoint's form, it still has them."""
    make_user()
    laptop, phone = Client(app), Client(app)
    for client in (laptop, phone):
        page = client.get("/signin").get_data(as_text=True)
        client.post("/signin", data={"email": SIGNUP["email"], "password": "correct horse",
                                     "csrf_token": csrf_token_in(page)})
    response = laptop.post("/signout/others", data={"csrf_token": "stale-token"})
    page = text(response)
    assert response.status_code == 400 and FORM_EXPIRED in page
    assert page.count("(this browser)") == 1 and "Sign out everywhere else" in page
    assert "No sign-ins yet" not in page and page.count('data-label="How">Password<') == 2
    assert phone.get("/profile").status_code == 200  # nothing was done
