"""ASVS 4.0.3 V4 Access control, Level 1, with the CSRF and Origin checks behind 4.2.2."""


import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth import routes

from conftest import AuthActions
from support import browser, signed_in, signin

SIGNUP = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"}


def test_8_3_1_profile_is_checked_on_the_server(client):
    """ASVS 5.0 8.3.1; 4.0.3 4.1.1: no session row, no profile: signed-out users are sent to sign in, and back."""
    response = client.get("/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == "/signin?next=/profile"
    client.set_cookie("wsgiauth", "made-up.value")
    assert client.get("/profile").status_code == 303


def test_8_2_3_identity_comes_only_from_the_server_side_session(app):
    """ASVS 5.0 8.2.3; 4.0.3 4.1.2: no parameter, field or cookie a user sends can change whose data is shown."""
    signed_in(app, addr="127.0.0.21", email="bob@example.com", firstname="Bob", lastname="Builder")
    ada = signed_in(app, addr="127.0.0.22")
    ada.set_cookie("uid", "1")
    ada.set_cookie("email", "bob@example.com")
    for path in ("/profile?uid=1", "/profile?email=bob@example.com"):
        page = ada.get(path).get_data(as_text=True)
        assert "This is ada@example.com's profile page" in page and "bob@example.com" not in page


@pytest.mark.both_databases
def test_8_2_2_users_see_and_end_only_their_own_sessions(app):
    """ASVS 5.0 8.2.2; 4.0.3 4.1.3: least privilege: the sessions list and "sign out everywhere else" touch only your
    own."""
    bob = signed_in(app, addr="127.0.0.31", email="bob@example.com", firstname="Bob", lastname="Builder")
    ada = signed_in(app, addr="127.0.0.32")
    page = ada.get("/security").get_data(as_text=True)
    assert "127.0.0.32" in page and "127.0.0.31" not in page
    signin(browser(app, addr="127.0.0.33"))  # Ada's second browser, so the button shows
    page = ada.get("/security").get_data(as_text=True)
    token = csrf_token_in(page, action="/signout/others")
    assert ada.post("/signout/others", data={"csrf_token": token, "uid": "1"}).status_code == 303
    assert bob.get("/profile").status_code == 200


@pytest.mark.both_databases
def test_16_5_3_access_control_fails_closed_on_errors(app, signed_in, client, caplog):
    """ASVS 5.0 16.5.3; 4.0.3 4.1.5: if the session cannot be checked (a database error), nothing private is shown."""
    app.db.queries["session_user"] = "SELECT no_such_column FROM sessions"
    with caplog.at_level("ERROR", logger="wsgiauth"):
        response = client.get("/profile")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "ada@example.com" not in page and "Lovelace" not in page


def test_8_2_2_no_url_names_a_record_and_an_id_in_a_token_s_place_is_refused(client, signed_in, make_user,
                                                                              query):
    """ASVS 5.0 8.2.2; 4.0.3 4.2.1: no URL a user can open names a user, session or message by its id (nothing to
    enumerate or tamper with): the only values in their paths are signed tokens and static file names, and an id
    where a token goes is refused. The admin area's /admin/users/<uid> are for the group admin alone
    (test_admin_access.py)."""
    in_paths = {rule.rule for rule in routes.url_map().iter_rules()
                if rule.arguments and rule.endpoint not in routes.GROUP_ONLY}
    assert in_paths == {"/confirm/<token>", "/reset/<token>", "/account/email/<token>", "/static/<path:filename>"}
    bob = make_user(firstname="Bob", email="bob@example.com")
    before = query("all_users_for_tests")
    for path in ("/confirm/{}", "/reset/{}", "/account/email/{}"):
        for value in (bob, 1, f"{bob}.0.0"):
            response = AuthActions(client).open_link(path.format(value))
            assert response.status_code == 400, path.format(value)
    assert client.post("/reset", data={"password": "a new pass phrase", "password2": "a new pass phrase",
                                             "csrf_token": csrf_token_in(client.get("/signout").get_data(as_text=True))
                                             }).status_code == 400
    assert client.get(f"/static/{bob}", buffered=True).status_code == 404
    assert query("all_users_for_tests") == before
    assert client.get("/profile").status_code == 200  # Ada is still signed in, as Ada


def test_3_5_1_csrf_token_is_required(client, query, caplog):
    """ASVS 5.0 3.5.1; 4.0.3 4.2.2: state changes need this browser's token (SameSite=Lax as well); 16.3.3: each
    refusal is logged."""
    client.get("/signup")
    with caplog.at_level("WARNING", logger="wsgiauth"):
        assert client.post("/signup", data=SIGNUP).status_code == 400
        assert client.post("/signup", data={**SIGNUP, "csrf_token": "forged"}).status_code == 400
    assert query("all_users_for_tests") == []
    refusals = [r.getMessage() for r in caplog.records if "CSRF token" in r.getMessage()]
    assert refusals == ["400 for POST /signup: CSRF token missing, expired or wrong (session cookie sent: yes)"] * 2
    assert "forged" not in caplog.text


def test_3_5_1_post_from_another_origin_is_refused(client, query, caplog):
    """ASVS 5.0 3.5.1; 4.0.3 4.2.2: a POST whose Origin is another site gets 403, even with a valid token; 16.3.3:
    logged."""
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    origins = ("https://evil.example", "http://localhost.evil.example", "null", "http://localhost:8080",
               "https://localhost")
    with caplog.at_level("WARNING", logger="wsgiauth"):
        for origin in origins:
            response = client.post("/signup", data={**SIGNUP, "csrf_token": token}, headers={"Origin": origin})
            assert response.status_code == 403, origin
            assert "This request came from another site, so it was refused." in response.get_data(as_text=True)
    assert query("all_users_for_tests") == []
    assert [r.getMessage() for r in caplog.records if "another origin" in r.getMessage()] == [
        f"403 for POST /signup: a form from another origin, {origin!r}" for origin in origins]
    assert token not in caplog.text


@pytest.mark.parametrize("origin", ["http://localhost", "http://LOCALHOST:80", None])
def test_3_5_1_post_from_our_own_origin_or_without_origin_is_accepted(make_app, origin):
    """ASVS 5.0 3.5.1; 4.0.3 4.2.2: the same origin (default port or not), or no Origin header (the token still
    guards)."""
    client = Client(make_app())
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    headers = {"Origin": origin} if origin else {}
    assert client.post("/signup", data={**SIGNUP, "csrf_token": token}, headers=headers).status_code == 303


def test_3_5_1_origin_null_is_accepted_only_from_a_page_of_our_own(client, query):
    """ASVS 5.0 3.5.1; 4.0.3 4.2.2: the forms behind email links (Referrer-Policy: no-referrer) post "Origin: null"
    with Sec-Fetch-Site: same-origin; any other null origin (a sandboxed frame, an old browser) is refused."""
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    for headers in ({"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null", "Sec-Fetch-Site": "same-site"},
                    {"Origin": "null", "Sec-Fetch-Site": "none"},
                    {"Origin": "null"},
                    {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}):
        assert client.post("/signup", data={**SIGNUP, "csrf_token": token}, headers=headers).status_code == 403, headers
    assert query("all_users_for_tests") == []
    ours = client.post("/signup", data={**SIGNUP, "csrf_token": token},
                       headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert ours.status_code == 303


def test_3_5_1_origin_check_uses_the_public_origin_behind_a_trusted_proxy(make_app):
    """ASVS 5.0 3.5.1; 4.0.3 4.2.2: behind WSGIAUTH_TRUSTED_PROXIES=1 the origin is the proxy's
    X-Forwarded-Proto/-Host."""
    app = make_app(TRUSTED_PROXIES=1)
    client = browser(app, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="auth.example.org")
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    refused = client.post("/signup", data={**SIGNUP, "csrf_token": token}, headers={"Origin": "http://localhost"})
    assert refused.status_code == 403
    accepted = client.post("/signup", data={**SIGNUP, "csrf_token": token},
                           headers={"Origin": "https://auth.example.org"})
    assert accepted.status_code == 303


def test_13_4_3_no_directory_listing_or_metadata_files(client):
    """ASVS 5.0 13.4.3; 4.0.3 4.3.2: no directory listings, no source, SQL, templates or metadata files."""
    for path in ("/static/", "/static", "/.git/config", "/static/../app.py", "/sql/queries.sql",
                 "/templates/base.html", "/static/.DS_Store", "/wsgiauth/", "/static/%2e%2e/app.py"):
        assert client.get(path).status_code == 404, path
