"""The gate: wsgiauth in front of a host WSGI app, which learns who is signed in from REMOTE_USER."""

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth import Gate

PASSWORD = "correct horse"
IDENTITY = ("REMOTE_USER", "HTTP_REMOTE_USER", "HTTP_X_REMOTE_USER", "HTTP_X_FORWARDED_USER", "wsgiauth.user")


def host_app(environ, start_response):
    """A host app of a few lines: "Hello, EMAIL", and what it was told about identity, as JSON."""
    seen = {key: (dict(environ[key]) if key == "wsgiauth.user" else environ[key])
            for key in IDENTITY if key in environ}
    body = json.dumps({"hello": f"Hello, {environ.get('REMOTE_USER', 'stranger')}", "seen": seen,
                       "urls": dict(environ["wsgiauth.urls"])})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


@pytest.fixture
def site(app):
    """A browser on the host app behind the gate, wsgiauth under /accounts, /reports protected."""
    return Client(Gate(host_app, app, protect=["/reports", "/api/*/private"]))


def host_page(site, path="/", **kwargs):
    """Return what the host app said about the request (its JSON)."""
    response = site.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return json.loads(response.get_data(as_text=True))


def sign_in(site, next_path=None):
    """Sign in through wsgiauth's own form under /accounts; return the response."""
    query = f"?next={next_path}" if next_path else ""
    page = site.get("/accounts/signin" + query).get_data(as_text=True)
    assert 'action="/accounts/signin' in page  # wsgiauth's links stay under its mount point
    data = {"email": "ada@example.com", "password": PASSWORD, "csrf_token": csrf_token_in(page)}
    if next_path:
        data["next"] = next_path
    return site.post("/accounts/signin" + query, data=data)


def test_a_host_app_greets_the_signed_in_user_and_nobody_else(site, make_user):
    assert host_page(site)["hello"] == "Hello, stranger"
    uid = make_user(confirmed=True)
    assert sign_in(site).headers["Location"] == "/accounts/profile"
    said = host_page(site, "/anything?x=1")
    assert said["hello"] == "Hello, ada@example.com"
    assert said["seen"]["wsgiauth.user"] == {"uid": uid, "email": "ada@example.com", "firstname": "Ada",
                                             "lastname": "Lovelace", "confirmed": True, "groups": []}
    assert said["urls"]["signin"] == "/accounts/signin?next=/anything%3Fx%3D1"
    assert said["urls"]["signout"] == "/accounts/signout"


@pytest.mark.parametrize("header", ["Remote-User", "X-Remote-User", "X-Forwarded-User"])
def test_identity_a_client_sends_never_reaches_the_host_app(site, make_user, header):
    forged = {header: "admin@example.com"}
    assert host_page(site, headers=forged)["seen"] == {}
    # Nor an environ REMOTE_USER a server set before the gate.
    assert host_page(site, environ_overrides={"REMOTE_USER": "admin@example.com"})["seen"] == {}
    make_user()
    sign_in(site)
    seen = host_page(site, headers=forged)["seen"]
    assert seen["REMOTE_USER"] == "ada@example.com" and set(seen) == {"REMOTE_USER", "wsgiauth.user"}


@pytest.mark.parametrize("path", ["/reports", "/reports/2026/q3?sort=desc", "/api/v1/private"])
def test_a_protected_page_sends_a_browser_to_sign_in_and_back(site, make_user, path):
    refused = site.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert refused.status_code == 303 and refused.headers["Cache-Control"] == "no-store"
    location = refused.headers["Location"]
    assert location.startswith("/accounts/signin?next=")
    make_user()
    next_path = location.split("next=", 1)[1]
    landed = sign_in(site, unquote(next_path))
    assert (landed.status_code, landed.headers["Location"]) == (303, path)
    assert host_page(site, path)["hello"] == "Hello, ada@example.com"


def test_a_program_gets_401_not_a_sign_in_page(site):
    response = site.get("/reports", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Cookie realm="wsgiauth"'
    assert host_page(site, "/public")["hello"] == "Hello, stranger"  # unprotected pages stay open


def test_a_session_ended_elsewhere_is_refused_on_the_very_next_host_request(app, site, make_user):
    make_user()
    sign_in(site)
    other = Client(Gate(host_app, app))
    sign_in(other)
    assert host_page(other)["hello"] == "Hello, ada@example.com"
    # "Sign out everywhere else" from the first browser ends the other one's session.
    security = site.get("/accounts/security").get_data(as_text=True)
    site.post("/accounts/signout/others", data={"csrf_token": csrf_token_in(security, "/accounts/signout/others")})
    assert host_page(other)["hello"] == "Hello, stranger"
    assert host_page(site)["hello"] == "Hello, ada@example.com"


@pytest.mark.parametrize("next_path, landing", [
    ("/reports/x", "/reports/x"),
    ("/accounts/account", "/accounts/account"),
    ("//evil.example/x", "/accounts/profile"),
    ("/\\evil.example", "/accounts/profile"),
    ("https://evil.example/", "/accounts/profile"),
    ("/accounts/static/style.css", "/accounts/profile"),
    ("/accounts/nowhere", "/accounts/profile"),
])
def test_next_may_be_any_page_of_the_site_but_never_another_site(site, make_user, next_path, landing):
    make_user()
    assert sign_in(site, next_path).headers["Location"] == landing


def test_wsgiauth_s_own_pages_come_back_to_themselves_through_the_gate(site, make_user):
    refused = site.get("/accounts/account")
    assert refused.headers["Location"] == "/accounts/signin?next=/accounts/account"
    make_user()
    assert sign_in(site, "/accounts/account").headers["Location"] == "/accounts/account"


def test_the_gate_mounted_inside_a_bigger_app_keeps_every_url_under_its_own_root(app, make_user):
    site = Client(Gate(host_app, app, protect=["/reports"]))
    refused = site.get("/reports", headers={"Accept": "text/html"}, environ_overrides={"SCRIPT_NAME": "/site"})
    assert refused.headers["Location"] == "/site/accounts/signin?next=/reports"


@pytest.mark.parametrize("mount", ["accounts", "/accounts/", "//accounts"])
def test_a_mount_point_must_be_a_plain_path(app, mount):
    with pytest.raises(ValueError, match="mount point"):
        Gate(host_app, app, mount=mount)


def test_a_host_request_when_the_database_is_gone_is_a_503_never_a_guess(app, site, make_user):
    make_user()
    sign_in(site)
    assert host_page(site, "/reports")["hello"] == "Hello, ada@example.com"
    # The SQLite file becomes a folder: no connection can be opened.
    path = Path(app.settings.DATABASE[len("sqlite:///"):])
    app.db.close()
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    path.mkdir()
    response = site.get("/reports")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "We can't reach our accounts database" in response.get_data(as_text=True)
