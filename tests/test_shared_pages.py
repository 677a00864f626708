"""Anonymous pages made once per mount point (WSGIAuth.shared_page): each visitor's own token, nobody's data."""

import re

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client, EnvironBuilder

from wsgiauth.app import FORM_EXPIRED, Request
from wsgiauth.views.signin import CONFIRM_FIRST, INVALID_SIGNIN

TOKEN = re.compile(r'(name="csrf_token" value=")[^"]+"')
ADA = {"email": "ada@example.com", "password": "correct horse"}


def without_token(html):
    """Return html with every CSRF token replaced by the same placeholder."""
    return TOKEN.sub(r'\1TOKEN"', html)


def fresh_render(app, path, template):
    """Render template for an anonymous request to path the usual way (no shared page)."""
    request = Request(EnvironBuilder(path=path, base_url="http://localhost").get_environ())
    request.adapter = app.url_map.bind_to_environ(request.environ)
    request.url_rule, _ = request.adapter.match(return_rule=True)
    app.load_session(request)
    return app.render(request, template).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/signin", "/signup"])
def test_a_shared_form_page_is_the_fresh_page_but_for_the_token(app, path):
    shared = Client(app).get(path)
    # Any query value makes the view render the page afresh; these pages show none of it.
    fresh = Client(app).get(path + "?utm_source=mail")
    assert shared.status_code == fresh.status_code == 200
    assert without_token(shared.get_data(as_text=True)) == without_token(fresh.get_data(as_text=True))
    assert csrf_token_in(shared.get_data(as_text=True)) != csrf_token_in(fresh.get_data(as_text=True))
    assert "wsgiauth=" in shared.headers["Set-Cookie"]
    again = Client(app).get(path).get_data(as_text=True)  # now from the kept page
    assert without_token(again) == without_token(shared.get_data(as_text=True))
    assert app._token_marker not in again


def test_the_shared_home_page_is_the_fresh_one_and_sends_no_cookie(app):
    first, second = Client(app).get("/"), Client(app).get("/")
    assert first.get_data() == second.get_data()
    assert second.get_data(as_text=True) == fresh_render(app, "/", "home.html")
    assert "Create an account" in second.get_data(as_text=True)
    # No form on the page: no token, so no session cookie, as before.
    assert "Set-Cookie" not in second.headers and "csrf_token" not in second.get_data(as_text=True)


def test_two_browsers_get_their_own_tokens_and_each_signs_in(app, make_user):
    make_user(email=ADA["email"], password=ADA["password"])
    browsers = [Client(app), Client(app)]
    tokens = [csrf_token_in(browser.get("/signin").get_data(as_text=True)) for browser in browsers]
    assert tokens[0] != tokens[1]
    # Each token is tied to its own browser's session.
    assert browsers[0].post("/signin", data=dict(ADA, csrf_token=tokens[1])).status_code == 400
    for browser, token in zip(browsers, tokens):
        browser.get("/signin")  # a new page, from the kept one
        signed_in = browser.post("/signin", data=dict(ADA, csrf_token=token))
        assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/profile"
        assert "Lovelace" in browser.get("/profile").get_data(as_text=True)


def test_a_signed_in_user_never_gets_the_anonymous_home_page_nor_leaves_theirs(app, make_user):
    make_user(email=ADA["email"], password=ADA["password"])
    anonymous = Client(app)
    assert "Create an account" in anonymous.get("/").get_data(as_text=True)  # kept now
    ada = Client(app)
    token = csrf_token_in(ada.get("/signin").get_data(as_text=True))
    assert ada.post("/signin", data=dict(ADA, csrf_token=token)).status_code == 303
    home = ada.get("/").get_data(as_text=True)
    assert "Go to your profile" in home and "Create an account" not in home and "Sign Out" in home
    later = Client(app).get("/").get_data(as_text=True)
    assert "Create an account" in later and "Go to your profile" not in later and "Sign Out" not in later
    assert ada.get("/signin").status_code == 303  # signed in: to the profile, not the form


def test_a_notice_is_shown_to_its_browser_only(make_app):
    app = make_app(REQUIRE_CONFIRMED_EMAIL=True)
    Client(app).get("/signin")  # the bare page is kept
    newcomer = Client(app)
    token = csrf_token_in(newcomer.get("/signup").get_data(as_text=True))
    signed_up = newcomer.post("/signup", data={"firstname": "Ada", "lastname": "Lovelace", "csrf_token": token,
                                               "email": ADA["email"], "password": ADA["password"]})
    assert signed_up.headers["Location"] == "/signin"
    page = newcomer.get("/signin").get_data(as_text=True)
    assert CONFIRM_FIRST in page
    assert CONFIRM_FIRST not in Client(app).get("/signin").get_data(as_text=True)
    assert CONFIRM_FIRST not in Client(app).get("/").get_data(as_text=True)
    assert CONFIRM_FIRST not in newcomer.get("/signin").get_data(as_text=True)  # shown once


def test_next_errors_and_an_expired_form_are_shown_and_kept_by_nobody(app, make_user):
    make_user(email=ADA["email"], password=ADA["password"])
    Client(app).get("/signin")  # the bare page is kept
    browser = Client(app)
    page = browser.get("/signin?next=/account").get_data(as_text=True)
    assert 'name="next" value="/account"' in page
    token = csrf_token_in(page)
    empty = browser.post("/signin", data={"csrf_token": token, "email": "", "password": ""})
    assert "Please enter your email address." in empty.get_data(as_text=True)
    wrong = browser.post("/signin", data={"csrf_token": token, "email": ADA["email"], "password": "nope"})
    assert INVALID_SIGNIN in wrong.get_data(as_text=True)
    expired = browser.post("/signin", data={"csrf_token": "stale", "email": "typed@example.com", "password": "x"})
    assert expired.status_code == 400
    assert FORM_EXPIRED in expired.get_data(as_text=True)
    assert 'value="typed@example.com"' in expired.get_data(as_text=True)
    for visitor in (browser, Client(app)):
        bare = visitor.get("/signin").get_data(as_text=True)
        assert bare.startswith("<!doctype html>") and "<title>Sign In · wsgiauth</title>" in bare
        for shown in ('name="next"', "Please enter", INVALID_SIGNIN, FORM_EXPIRED, "typed@example.com"):
            assert shown not in bare


def test_each_mount_point_gets_its_own_links(app):
    for prefix in ["/a", "/b", "/a"]:
        page = Client(app).get("/signin", environ_overrides={"SCRIPT_NAME": prefix}).get_data(as_text=True)
        assert f'action="{prefix}/signin"' in page and f'href="{prefix}/signup"' in page
        other = "/b" if prefix == "/a" else "/a"
        assert f'"{other}/' not in page
        home = Client(app).get("/", environ_overrides={"SCRIPT_NAME": prefix}).get_data(as_text=True)
        assert f'href="{prefix}/signin"' in home and f'"{other}/' not in home


def test_the_kept_pages_stay_bounded_whatever_mount_points_arrive(app):
    client = Client(app)
    for n in range(105):
        page = client.get("/signin", environ_overrides={"SCRIPT_NAME": f"/m{n}"}).get_data(as_text=True)
        assert f'action="/m{n}/signin"' in page
    assert len(app._shared_pages) <= 100
