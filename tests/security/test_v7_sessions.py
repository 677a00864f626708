"""ASVS 4.0.3 V3 Session management, Level 1 (and the session features issue 5 adds)."""

import re

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth import ConfigError
from wsgiauth.sessions import hash_id

from conftest import TEST_SECRET_KEY, AuthActions
from support import browser, cookie_headers, signed_in, signin

HOUR, DAY = 3600, 24 * 3600
OTHER_KEY = "a-new-secret-key-that-is-also-long-enough-0123456789"


def sid_of(client, name="wsgiauth"):
    """Return the session id inside the client's signed cookie, or None."""
    cookie = client.get_cookie(name)
    return cookie.value.rsplit(".", 1)[0] if cookie else None


def profile_status(client):
    """Return the status of GET /profile: 200 signed in, 303 signed out."""
    return client.get("/profile").status_code


@pytest.fixture
def ada(app):
    """A browser signed in as Ada (her account stored directly), from 127.0.0.1 with Firefox."""
    return signed_in(app)


# -- V3.1 / V3.2: the token ----------------------------------------------------

def test_14_2_1_session_token_never_in_urls(app):
    """ASVS 5.0 14.2.1; 4.0.3 3.1.1: no Location, link or form action carries the session id or cookie."""
    client = browser(app)
    responses = [client.get("/profile"), AuthActions(client).signup(), client.get("/profile"),
                 AuthActions(client).signout(), signin(client, path="/signin?next=/profile")]
    responses += [client.get(path) for path in ("/", "/profile", "/signout")]
    sid, cookie = sid_of(client), client.get_cookie("wsgiauth").value
    for response in responses:
        urls = [response.headers.get("Location", "")]
        urls += re.findall(r'(?:href|action)="([^"]*)"', response.get_data(as_text=True))
        assert not any(sid in url or cookie in url for url in urls), urls


def test_7_2_4_new_session_id_at_signup_and_signin(app):
    """ASVS 5.0 7.2.4; 4.0.3 3.2.1: a new id at authentication; the one from before is never promoted."""
    client = browser(app)
    client.get("/signup")
    anonymous = sid_of(client)
    AuthActions(client).signup()
    after_signup = sid_of(client)
    AuthActions(client).signout()
    client.get("/signin")
    before_signin = client.get_cookie("wsgiauth").value  # e.g. planted by an attacker
    signin(client)
    assert len({anonymous, after_signup, before_signin.rsplit(".", 1)[0], sid_of(client)}) == 4
    planted = Client(app)
    planted.set_cookie("wsgiauth", before_signin)
    assert profile_status(planted) == 303 and profile_status(client) == 200


@pytest.mark.both_databases
def test_7_2_3_session_ids_have_256_random_bits(app, query):
    """ASVS 5.0 7.2.3; 4.0.3 3.2.2: 32 bytes from secrets (43 url-safe characters), never repeated."""
    sids = set()
    for n in range(20):
        client = signed_in(app, addr=f"127.0.1.{n}", email=f"user{n}@example.com")
        sids.add(sid_of(client))
    assert len(sids) == 20 and all(len(sid) >= 43 for sid in sids)
    assert {row["id_hash"] for row in query("all_sessions_for_tests")} == {hash_id(s) for s in sids}


def test_3_3_4_token_only_in_an_httponly_cookie(app):
    """ASVS 5.0 3.3.4; 4.0.3 3.2.3: the id lives in an HttpOnly cookie, never in the page (so no script can read it)."""
    client = browser(app)
    response = AuthActions(client).signup()
    (header,) = [h for h in cookie_headers(response) if h.startswith("wsgiauth=")]
    assert "HttpOnly" in header
    for path in ("/", "/profile", "/signout"):
        assert sid_of(client) not in client.get(path).get_data(as_text=True)


# -- V3.3: termination ---------------------------------------------------------

@pytest.mark.both_databases
def test_7_4_1_signout_invalidates_replayed_cookie(ada, app, query):
    """ASVS 5.0 7.4.1; 4.0.3 3.3.1: after sign-out a copy of the cookie is worthless, and pages were never cached."""
    thief = Client(app)
    thief.set_cookie("wsgiauth", ada.get_cookie("wsgiauth").value)
    page = ada.get("/profile")
    assert page.headers["Cache-Control"] == "no-store"  # Back shows nothing after sign-out
    AuthActions(ada).signout()
    assert query("all_sessions_for_tests") == []
    assert profile_status(thief) == 303 and profile_status(ada) == 303


def test_7_4_1_expired_session_is_invalid(ada, clock, query):
    """ASVS 5.0 7.4.1; 4.0.3 3.3.1: an expired session ends on the server, whatever the cookie says."""
    for _ in range(12):
        clock.advance(HOUR - 1)
        assert profile_status(ada) == 200  # used every hour: never idle
    clock.advance(12)
    assert profile_status(ada) == 303


@pytest.mark.both_databases
def test_7_3_1_idle_timeout_two_hours_without_remember(ada, clock):
    """ASVS 5.0 7.3.1; 4.0.3 3.3.2: an unused session ends after 2 hours (default) without "Keep me signed in"."""
    clock.advance(2 * HOUR - 61)
    assert profile_status(ada) == 200  # used: the idle clock starts again
    clock.advance(2 * HOUR - 61)
    assert profile_status(ada) == 200
    clock.advance(2 * HOUR + 1)
    assert profile_status(ada) == 303


@pytest.mark.both_databases
def test_7_3_2_remember_me_30_days_and_7_days_idle(app, clock):
    """ASVS 5.0 7.3.2; 4.0.3 3.3.2 (Level 1: re-authentication at least every 30 days): "Keep me signed in"."""
    client = signed_in(app)
    AuthActions(client).signout()
    response = signin(client, remember=True)
    (header,) = [h for h in cookie_headers(response) if h.startswith("wsgiauth=")]
    assert f"Max-Age={30 * DAY}" in header and "Expires=" in header  # survives a browser restart
    for _ in range(4):
        clock.advance(6 * DAY)  # used every six days: never idle for a week
        assert profile_status(client) == 200
    clock.advance(6 * DAY - 1)
    assert profile_status(client) == 200
    clock.advance(1)  # 30 days after sign-in: sign in again, however active
    assert profile_status(client) == 303
    signin(client, remember=True)
    clock.advance(7 * DAY)  # a week unused
    assert profile_status(client) == 303


def test_7_3_2_without_remember_the_cookie_ends_with_the_browser(ada, app):
    """ASVS 5.0 7.3.2; 4.0.3 3.3.2: unticked, the cookie has no expiry and the server row lasts at most 12 hours."""
    AuthActions(ada).signout()
    response = signin(ada)
    (header,) = [h for h in cookie_headers(response) if h.startswith("wsgiauth=")]
    assert "Max-Age" not in header and "Expires" not in header


def test_7_3_2_lifetimes_are_configurable(make_app, clock):
    """ASVS 5.0 7.3.2; 4.0.3 3.3.2: every lifetime and idle timeout is a setting."""
    app = make_app(SESSION_IDLE_TIMEOUT=600, SESSION_LIFETIME=1800)
    client = signed_in(app)
    clock.advance(601)
    assert profile_status(client) == 303


@pytest.mark.both_databases
def test_last_seen_is_written_at_most_once_a_minute(ada, clock, query):
    """ASVS 3.3.2 support: idle timeouts need last_seen, but not a write per request."""
    created = query("all_sessions_for_tests")[0]["last_seen"]
    for _ in range(5):
        clock.advance(10)
        ada.get("/profile")
    assert query("all_sessions_for_tests")[0]["last_seen"] == created
    clock.advance(10)  # 60 seconds since the last write
    ada.get("/profile")
    assert query("all_sessions_for_tests")[0]["last_seen"] == created + 60


@pytest.mark.both_databases
def test_7_5_2_security_page_lists_sessions_and_signs_out_everywhere_else(app, query):
    """ASVS 5.0 7.5.2; 4.0.3 3.3.4 (Level 2, done anyway): see where you are signed in; end every other session."""
    laptop = signed_in(app, addr="127.0.0.11")
    phone = browser(app, addr="127.0.0.12", agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                                                  "AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1")
    signin(phone)
    page = laptop.get("/security").get_data(as_text=True)
    assert "127.0.0.11" in page and "127.0.0.12" in page
    assert "Firefox on Linux <strong>(this browser)</strong>" in page and "Safari on iOS" in page
    assert "Sign out everywhere else" in page
    response = laptop.post("/signout/others", data={"csrf_token": csrf_token_in(page, action="/signout/others")})
    assert (response.status_code, response.headers["Location"]) == (303, "/security")
    assert profile_status(phone) == 303 and profile_status(laptop) == 200
    rows = query("sessions_detail_for_tests")
    assert [(row["ip"], row["user_agent"]) for row in rows] == [("127.0.0.11", laptop.environ["HTTP_USER_AGENT"])]
    assert "You are signed in only in this browser." in laptop.get("/security").get_data(as_text=True)


@pytest.mark.both_databases
def test_1_3_3_an_over_long_non_ascii_user_agent_is_stored_cut_to_its_column(app, make_user, query):
    """ASVS 5.0 1.3.3; 4.0.3 3.3.4 support: the sessions list and the audit trail keep the User-Agent; one longer
    than the column (200 characters, here not ASCII) and the longest IPv6 address are stored cut to fit, not
    refused with a 500."""
    make_user()
    agent = "Mozilla/5.0 (X11; Linux x86_64) " + "Ünïcödé-Brøwser/1.0 " * 30
    address = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"  # 45 characters, the column's size
    client = browser(app, addr=address, agent=agent)
    assert signin(client).headers["Location"] == "/profile"
    (row,) = query("sessions_detail_for_tests")
    assert (row["user_agent"], row["ip"]) == (agent[:200], address)
    (event,) = query("security_events_for_tests")
    assert (event["user_agent"], event["ip"]) == (agent[:200], address)
    assert client.get("/profile").status_code == 200


# -- V3.4: cookies -------------------------------------------------------------

def secure_signup(make_app):
    """Sign up over HTTPS on an app with secure cookies; return the session Set-Cookie header."""
    client = Client(make_app(SECURE_COOKIES=True))
    response = AuthActions(client).post_form("https://localhost/signup", {
        "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"})
    (header,) = [h for h in cookie_headers(response) if h.startswith("__Host-wsgiauth=")]
    return header


def test_3_3_1_cookie_is_secure_when_served_over_https(make_app):
    """ASVS 5.0 3.3.1; 4.0.3 3.4.1: Secure with WSGIAUTH_SECURE_COOKIES=1 (production refuses to start without it)."""
    assert "Secure" in secure_signup(make_app)
    with pytest.raises(ConfigError, match="SECURE_COOKIES is off"):
        make_app(ENV="production", ALLOW_SQLITE_IN_PRODUCTION=True)


def test_3_3_4_cookie_is_httponly(make_app):
    """ASVS 5.0 3.3.4; 4.0.3 3.4.2: HttpOnly."""
    assert "HttpOnly" in secure_signup(make_app)


def test_3_3_2_cookie_is_samesite_lax(make_app):
    """ASVS 5.0 3.3.2; 4.0.3 3.4.3: SameSite=Lax keeps the cookie off cross-site POSTs."""
    assert "SameSite=Lax" in secure_signup(make_app)


def test_3_3_3_cookie_has_the_host_prefix(make_app):
    """ASVS 5.0 3.3.3; 4.0.3 3.4.4: the __Host- prefix: no Domain, so only this host ever receives it."""
    header = secure_signup(make_app)
    assert header.startswith("__Host-wsgiauth=") and "Domain" not in header


def test_3_3_3_cookie_path(make_app):
    """ASVS 5.0 3.3.3; 4.0.3 3.4.5: Path=/ is what __Host- requires; give the app its own host name (SECURITY.md)."""
    assert "Path=/" in secure_signup(make_app).split("; ")


# -- V3.7 ----------------------------------------------------------------------

def test_7_5_2_signing_out_other_sessions_needs_a_full_session(app, ada, query):
    """ASVS 5.0 7.5.2; 4.0.3 3.7.1: account changes need a signed-in session (and its CSRF token); nothing else
    works."""
    stranger = browser(app, addr="127.0.0.13")
    token = csrf_token_in(stranger.get("/signin").get_data(as_text=True))
    response = stranger.post("/signout/others", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/signin"
    assert ada.post("/signout/others", data={}).status_code == 400  # no token
    assert len(query("all_sessions_for_tests")) == 1 and profile_status(ada) == 200


# -- Secret key rotation and production mode ---------------------------------

def test_11_2_2_secret_key_rotation_keeps_sessions_and_forms(make_app):
    """ASVS 5.0 11.2.2; 4.0.3 1.6.3 (Level 2): a new key signs; the old one, as a fallback, still verifies cookies
    and tokens."""
    old_app = make_app()
    client = signed_in(old_app)
    form = client.get("/signout").get_data(as_text=True)  # a form signed with the old key
    token = csrf_token_in(form)
    rotated = make_app(SECRET_KEY=OTHER_KEY, SECRET_KEY_FALLBACKS=TEST_SECRET_KEY)
    client.application = rotated
    assert profile_status(client) == 200
    response = client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303
    signin(client)  # a new cookie, signed with the new key only
    client.application = make_app(SECRET_KEY=OTHER_KEY)
    assert profile_status(client) == 200
    client.application = old_app
    assert profile_status(client) == 303


def test_13_4_2_production_mode_refuses_unsafe_settings_and_says_why(make_app):
    """ASVS 5.0 13.4.2; 4.0.3 14.1 / 3.4.1 / 2.10.4: production needs a 32-byte key, secure cookies, and MySQL unless
    allowed."""
    with pytest.raises(ConfigError) as error:
        make_app(ENV="production", SECRET_KEY="short")
    message = str(error.value)
    assert "SECRET_KEY is 5 bytes; production needs at least 32 random bytes" in message
    assert "SECURE_COOKIES is off" in message
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS"):
        make_app(ENV="production", SECURE_COOKIES=True, ALLOW_SQLITE_IN_PRODUCTION=True,
                 SECRET_KEY_FALLBACKS="old-and-short")
    with pytest.raises(ConfigError, match="ENV must be development or production"):
        make_app(ENV="prod")
    app = make_app(ENV="production", SECURE_COOKIES=True, ALLOW_SQLITE_IN_PRODUCTION=True)
    assert Client(app).get("/", base_url="https://localhost").status_code == 200


def test_13_4_2_production_refuses_sqlite_unless_allowed(tmp_path):
    """ASVS 5.0 13.4.2; 4.0.3 14.1: SQLite in production only when WSGIAUTH_ALLOW_SQLITE_IN_PRODUCTION=1."""
    from wsgiauth.config import load_settings
    settings = {"ENV": "production", "SECRET_KEY": TEST_SECRET_KEY, "SECURE_COOKIES": True,
                "DATABASE": f"sqlite:///{tmp_path / 'x.db'}"}
    with pytest.raises(ConfigError, match="DATABASE is SQLite; production expects MySQL/MariaDB"):
        load_settings(settings, environ={})
    assert load_settings({**settings, "DATABASE": "mysql://u:p@127.0.0.1/db"}, environ={}).ENV == "production"
    environ = {"WSGIAUTH_ALLOW_SQLITE_IN_PRODUCTION": "1"}
    assert load_settings(settings, environ=environ).ALLOW_SQLITE_IN_PRODUCTION is True
