"""Forward authentication: GET /auth/verify in-process, then behind a real nginx and Caddy."""

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from conftest import AuthActions

# The application a proxy protects, as an operator lists it, and what the
# proxy tells /auth/verify about the request it was asked for.
APP_ORIGIN = "https://app.example.org"
ASKED_FOR = "https://app.example.org/reports?q=1&x=2"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.org",
             "X-Forwarded-Uri": "/reports?q=1&x=2", "X-Forwarded-Method": "GET"}
IDENTITY = ("Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups")


@pytest.fixture
def proxied_app(make_app):
    """An app behind one trusted proxy that protects APP_ORIGIN with forward authentication."""
    return make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS=APP_ORIGIN)


def assert_refused(response, location=None):
    """Check a 401 that names nobody, stores nothing, and points to sign in only when `location` says so."""
    assert response.status_code == 401
    assert response.headers.get("Location") == location
    assert not [name for name in IDENTITY if name in response.headers]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def signin_link(location):
    """Return (the sign-in page's URL without its query, its `next` or None) from a Location."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query).get("next", [None])[0]


def test_signed_out_gets_401_and_answers_get_only(client):
    assert_refused(client.get("/auth/verify"))
    assert_refused(client.get("/auth/verify?redirect=1"))
    assert client.post("/auth/verify").status_code == 405


def test_signed_in_gets_200_with_who_it_is(app, client, make_user):
    make_user(firstname="Zoë", lastname="Łukasiewicz", email="zoe@example.com")
    AuthActions(client).signin(email="zoe@example.com")
    for response in (client.get("/auth/verify"), client.head("/auth/verify?redirect=1", headers=FORWARDED)):
        assert response.status_code == 200 and response.get_data() == b""
        assert response.headers["Remote-User"] == response.headers["Remote-Email"] == "zoe@example.com"
        # UTF-8 on the wire; WSGI hands it over as Latin-1 characters.
        assert response.headers["Remote-Name"].encode("latin-1").decode("utf-8") == "Zoë Łukasiewicz"
        assert response.headers["Remote-Groups"] == ""
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers


@pytest.mark.both_databases
def test_a_session_ended_elsewhere_is_refused_on_the_next_call(make_app, make_user):
    app = make_app()
    make_user(app)
    laptop, phone = AuthActions(Client(app)), AuthActions(Client(app))
    laptop.signin()
    phone.signin()
    assert laptop.client.get("/auth/verify").status_code == 200
    # "Sign out everywhere else" on the phone ends the laptop's session at once.
    assert phone.post_form("/signout/others", {}, form_path="/profile").status_code == 303
    assert_refused(laptop.client.get("/auth/verify"))
    assert phone.client.get("/auth/verify").status_code == 200
    phone.signout()
    assert_refused(phone.client.get("/auth/verify"))


def test_a_listed_origin_behind_the_trusted_proxy_gets_the_way_to_sign_in_and_back(proxied_app, make_user):
    make_user(proxied_app)
    client = Client(proxied_app)
    # 401 for nginx, with the sign-in page (WSGIAUTH_BASE_URL) and the way back in Location.
    response = client.get("/auth/verify", headers=FORWARDED)
    assert_refused(response, location=response.headers.get("Location"))
    assert signin_link(response.headers["Location"]) == ("http://localhost/signin", ASKED_FOR)
    # ?redirect=1 for Caddy and Traefik: the same place as a redirect.
    for method in ("GET", "HEAD"):
        redirect = client.get("/auth/verify?redirect=1", headers={**FORWARDED, "X-Forwarded-Method": method})
        assert (redirect.status_code, redirect.headers["Location"]) == (302, response.headers["Location"])
        assert redirect.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in redirect.headers
    # A form's POST is not replayed after sign-in (as the sign-in gate): no
    # way back, and a 303 so the browser asks for the sign-in page with GET.
    posted = {**FORWARDED, "X-Forwarded-Method": "POST"}
    assert_refused(client.get("/auth/verify", headers=posted), location="http://localhost/signin")
    redirect = client.get("/auth/verify?redirect=1", headers=posted)
    assert (redirect.status_code, redirect.headers["Location"]) == (303, "http://localhost/signin")
    # Signing in on that page leads back to the URL asked for.
    signin_page = urlsplit(response.headers["Location"])
    signed_in = AuthActions(client).post_form(f"{signin_page.path}?{signin_page.query}",
                                              {"email": "ada@example.com", "password": "correct horse"})
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, ASKED_FOR)
    assert client.get("/auth/verify", headers=FORWARDED).headers["Remote-User"] == "ada@example.com"


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Proto": "http"},
    {"X-Forwarded-Host": "app.example.org:8443"},
    {"X-Forwarded-Host": "app.example.org.evil.example"},
    {"X-Forwarded-Host": "app.example.org@evil.example"},
    {"X-Forwarded-Host": "evil.example@app.example.org"},
    {"X-Forwarded-Host": "app.example.org:99999"},
    {"X-Forwarded-Uri": "@evil.example/"},
    {"X-Forwarded-Uri": "https://evil.example/"},
    {"X-Forwarded-Uri": "/\t/evil.example"},
    {"X-Forwarded-Uri": None},
    # No X-Forwarded-Host: the request's own host, which is not listed.
    {"X-Forwarded-Host": None},
])
def test_no_way_to_sign_in_for_an_unlisted_origin(proxied_app, headers):
    client = Client(proxied_app)
    sent = {name: value for name, value in {**FORWARDED, **headers}.items() if value is not None}
    assert_refused(client.get("/auth/verify", headers=sent))
    assert_refused(client.get("/auth/verify?redirect=1", headers=sent))


def test_no_way_to_sign_in_without_a_trusted_proxy(make_app):
    # The proxy's headers with WSGIAUTH_TRUSTED_PROXIES=0 are the client's own
    # words, even on a request whose own Host is the listed origin.
    client = Client(make_app(FORWARD_AUTH_HOSTS=APP_ORIGIN))
    assert_refused(client.get("/auth/verify?redirect=1", headers=FORWARDED, base_url=APP_ORIGIN))


@pytest.mark.both_databases
def test_verify_changes_nothing_but_last_seen_as_every_request_does(make_app, make_user, clock, query):
    app = make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS=APP_ORIGIN)
    make_user(app)
    client = Client(app)
    AuthActions(client).signin()
    signed_in_at = query("all_sessions_for_tests")[0]["last_seen"]
    before = (query("security_events_for_tests"), query("attempts_for_tests"), query("all_outbox_for_tests"))
    stranger = Client(app)
    for _ in range(3):
        for response in (client.get("/auth/verify", headers=FORWARDED), stranger.get("/auth/verify"),
                         stranger.get("/auth/verify?redirect=1", headers=FORWARDED)):
            assert "Set-Cookie" not in response.headers
        clock.advance(19)
    # 57 s on, the session's last_seen is as sign-in wrote it (a write at most once a minute) ...
    assert query("all_sessions_for_tests")[0]["last_seen"] == signed_in_at
    clock.advance(3)
    client.get("/auth/verify")
    client.get("/auth/verify")
    # ... then written once, as any page would; nothing else changed, and nobody else got a session.
    assert [row["last_seen"] for row in query("all_sessions_for_tests")] == [signed_in_at + 60]
    assert (query("security_events_for_tests"), query("attempts_for_tests"), query("all_outbox_for_tests")) == before
