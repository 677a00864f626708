"""Every response (headers, caching, safe redirects) and the audit trail: ASVS V14.4, V8.2, V5.1.5, V7."""

import logging

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth import audit, limits
from wsgiauth import cleanup as cleanup_module

from conftest import AuthActions
from support import PASSWORD, browser, signed_in, signed_up, signin

CSP = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'",
       "base-uri 'none'")


def throttled_response(app):
    """Return a 429 from the per-IP sign-in limit."""
    client = browser(app, addr="127.0.0.77")
    for n in range(limits.SIGNIN_PER_IP.limit):
        signin(client, email=f"u{n}@example.com")
    response = signin(client, email="last@example.com")
    assert response.status_code == 429
    return response


# -- V14.4: headers on every response -----------------------------------------

@pytest.mark.parametrize("secure", [False, True])
def test_3_4_1_security_headers_on_every_response(make_app, secure):
    """ASVS 5.0 3.4.1; 4.0.3 14.4.3-14.4.7: CSP without inline script, nosniff, same-origin referrer, DENY framing,
    HSTS."""
    app = make_app(SECURE_COOKIES=secure)
    client = Client(app)
    base = "https://localhost" if secure else "http://localhost"
    # buffered: read and closed, as a server does (a static file is an open file until then).
    paths = ("/", "/about", "/signup", "/signin", "/profile", "/signout", "/static/style.css", "/nowhere")
    responses = [client.get(base + path, buffered=True) for path in paths]
    responses += [client.post(base + "/signin"), client.put(base + "/signin"), throttled_response(app)]
    for response in responses:
        headers = response.headers
        directives = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
        assert all(d in directives for d in CSP), directives
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        if secure:
            assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        else:
            assert "Strict-Transport-Security" not in headers


def test_14_3_2_no_store_on_forms_and_signed_in_pages(app):
    """ASVS 5.0 14.3.2; 4.0.3 8.2.1: pages with forms or a user's data are never cached; only static files may be."""
    client = signed_in(app)
    for path in ("/", "/about", "/profile", "/account", "/signout", "/nowhere"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    anonymous = Client(app)
    for path in ("/signup", "/signin", "/forgot", "/confirm", "/reset/not-a-token", "/reset", "/confirm/link",
                 "/account/email/link"):
        assert anonymous.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in anonymous.get("/static/style.css", buffered=True).headers.get("Cache-Control", "")


# -- V5.1.5: the redirect after sign-in ---------------------------------------

def test_3_7_2_signin_returns_to_the_page_asked_for(app):
    """ASVS 5.0 3.7.2; 4.0.3 5.1.5: /profile -> /signin?next=/profile -> back to /profile after sign-in."""
    client = signed_in(app)
    AuthActions(client).signout()
    assert client.get("/profile").headers["Location"] == "/signin?next=/profile"
    page = client.get("/signin?next=/profile").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/profile">' in page
    response = signin(client, path="/signin?next=/profile", next="/about")
    assert response.headers["Location"] == "/about"


# Absolute URLs, scheme-relative ones, backslashes browsers read as "/",
# schemes, encoded slashes, whitespace browsers strip, and paths that are
# not pages here.
EVIL_TARGETS = [
    "http://evil.example", "https://evil.example/profile", "//evil.example", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "%2F%2Fevil.example", "/%2F%2Fevil.example",
    "/\t/evil.example", "/\n/evil.example", "\t//evil.example", " //evil.example", "/\r\nSet-Cookie: x=1",
    "evil.example", "/profile#@evil.example", "/nowhere", "/static/style.css", "/" + "a" * 2000,
    "http:/evil.example", "https:evil.example", "/\u3000/evil.example",
]


def test_3_7_2_next_never_leaves_the_site(app):
    """ASVS 5.0 3.7.2; 4.0.3 5.1.5: anything but a path of one of our own pages goes to /profile."""
    client = signed_in(app)
    AuthActions(client).signout()
    for target in EVIL_TARGETS:
        page = client.get("/signin", query_string={"next": target}).get_data(as_text=True)
        assert 'name="next"' not in page, target
        response = signin(client, next=target)
        assert (response.status_code, response.headers["Location"]) == (303, "/profile"), target
        AuthActions(client).signout()


# Origins an operator lists for forward authentication (README), and near
# misses of them: another scheme or port, a longer host name, a user name,
# look-alike letters, an encoded dot, a fragment, a URL with one slash.
LISTED_ORIGINS = "https://app.example.org, http://127.0.0.1:8080/"
NEAR_MISSES = [
    "http://app.example.org/x", "https://app.example.org:8443/x", "https://app.example.org.evil.example/x",
    "https://evil.example/app.example.org", "https://evil.example/?next=https://app.example.org",
    "https://app.example.org@evil.example/", "https://user:pw@app.example.org/", "https://app.example.org/x#top",
    "https://evil.example#https://app.example.org", "//app.example.org/x", "https:app.example.org/x",
    "https:/app.example.org/x", "https://\u0430pp.example.org/", "https://app.example.org:abc/",
    "https://app.example.org\\@evil.example/", "ftp://app.example.org/", "https://app%2eexample.org/",
    "https://app.example.org./", "http://127.0.0.1:8081/", "http://127.0.0.1/", "http://127.0.0.1:8080@evil.example/",
    "https://app.example.org/\t/x", "https://app.example.org/" + "a" * 1000,
]


def test_3_7_2_next_may_leave_the_site_only_for_a_listed_origin(make_app, clock):
    """ASVS 5.0 3.7.2; 4.0.3 5.1.5: with WSGIAUTH_FORWARD_AUTH_HOSTS, a URL on a listed origin is followed, nothing
    else off-site."""
    app = make_app(FORWARD_AUTH_HOSTS=LISTED_ORIGINS)
    client = signed_in(app)
    AuthActions(client).signout()
    for target in ["https://app.example.org/reports?q=1&x=%2F", "https://app.example.org:443/", "https://app.example.org",
                   "http://127.0.0.1:8080/page"]:
        page = client.get("/signin", query_string={"next": target}).get_data(as_text=True)
        assert 'name="next"' in page, target
        response = signin(client, next=target)
        assert (response.status_code, response.headers["Location"]) == (303, target)
        # Already signed in, and inside a mount point: the URL as it is.
        assert client.get("/signin", query_string={"next": target}).headers["Location"] == target
        assert client.get("/signin", query_string={"next": target},
                          base_url="http://localhost/auth/").headers["Location"] == target
        AuthActions(client).signout()
    clock.advance(limits.SIGNIN_PER_IP.window)  # a fresh per-IP allowance of sign-ins
    for target in NEAR_MISSES:
        assert 'name="next"' not in client.get("/signin", query_string={"next": target}).get_data(as_text=True)
        response = signin(client, next=target)
        assert (response.status_code, response.headers["Location"]) == (303, "/profile"), target
        AuthActions(client).signout()
    signin(client)
    for target in EVIL_TARGETS + NEAR_MISSES:
        assert client.get("/signin", query_string={"next": target}).headers["Location"] == "/profile", target


def test_3_7_2_next_when_already_signed_in(app):
    """ASVS 5.0 3.7.2; 4.0.3 5.1.5: a signed-in visit to /signin?next=... follows only local paths too."""
    client = signed_in(app)
    assert client.get("/signin?next=/about").headers["Location"] == "/about"
    assert client.get("/signin?next=//evil.example").headers["Location"] == "/profile"


def test_3_7_2_next_inside_a_mount_point(app):
    """ASVS 5.0 3.7.2; 4.0.3 5.1.5: mounted under a prefix, the redirect stays inside it."""
    client = signed_in(app)
    AuthActions(client).signout()
    page = client.get("/signin", base_url="http://localhost/auth/").get_data(as_text=True)
    token = csrf_token_in(page)
    response = client.post("/signin?next=/about", base_url="http://localhost/auth/",
                           data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/auth/about"


# -- V7: the audit trail --------------------------------------------------------

@pytest.mark.both_databases
def test_16_3_1_security_events_are_recorded_without_secrets(make_app, clock, query, caplog):
    """ASVS 5.0 16.3.1; 4.0.3 7.1.1/7.1.2 (L1) and 7.1.3: events in the table and the log; no password, token or
    cookie."""
    app = make_app()
    with caplog.at_level(logging.INFO, logger="wsgiauth.audit"):
        client = signed_up(app)
        cookie = client.get_cookie("wsgiauth").value
        AuthActions(client).signout()
        for _ in range(5):
            signin(client, password="wrong password")
        signin(client)  # throttled
        clock.advance(60)
        signin(client)
        throttled_response(app)
    events = query("security_events_for_tests")
    ada, stranger = events[:9], events[9:]
    assert [e["event"] for e in ada] == ["signup", "signout"] + ["signin_failed"] * 5 + ["signin_throttled",
                                                                                         "signin"]
    assert {e["uid"] for e in ada} == {1}
    # Unknown emails from another address, then that address's 429.
    assert [e["event"] for e in stranger] == ["signin_failed"] * 30 + ["rate_limited"]
    assert {e["uid"] for e in stranger} == {None}
    assert stranger[-1]["detail"] == "signin-ip" and stranger[-1]["ip"] == "127.0.0.77"
    assert events[0]["ip"] == "127.0.0.1" and "Firefox" in events[0]["user_agent"]
    everything = str(events) + caplog.text + str(query("attempts_for_tests"))
    for secret in (PASSWORD, "wrong password", cookie, cookie.split(".")[0], "ada@example.com"):
        assert secret not in everything, secret
    assert caplog.text.count("security event signin_failed uid=1 ip=127.0.0.1") == 5


@pytest.mark.both_databases
def test_16_2_5_unknown_email_is_not_stored(app, query):
    """ASVS 5.0 16.2.5; 4.0.3 7.1.2: an email typed at sign-in for no account (maybe a password) is never stored."""
    client = browser(app)
    signin(client, email="my-password-by-mistake@example.com")
    (event,) = query("security_events_for_tests")
    assert event["event"] == "signin_failed" and event["uid"] is None
    assert "my-password-by-mistake" not in str(query("security_events_for_tests") + query("attempts_for_tests"))


@pytest.mark.both_databases
def test_security_page_shows_the_last_ten_signins(app, clock):
    """Issue 5: the sign-in security page lists the user's last 10 sign-ins (when, IP, browser)."""
    client = signed_in(app)
    for n in range(12):
        clock.advance(30)  # 6 minutes in all: the page needs access confirmed in the last 10
        other = browser(app, addr=f"127.0.2.{n}")
        signin(other)
    page = client.get("/security").get_data(as_text=True)
    section = page.split("Recent sign-ins")[1]
    assert section.split("<tbody>")[1].count("<tr>") == 10
    assert "127.0.2.11" in section and "127.0.2.2" in section and "127.0.2.1<" not in section


def test_audit_refuses_unknown_event_names(app):
    """Only the documented events can be written (a typo fails loudly, in tests)."""
    with pytest.raises(ValueError, match="unknown security event 'signed_in'"):
        audit.record(app, None, None, "signed_in")


# -- The attempts table stays small ---------------------------------------------

@pytest.mark.both_databases
def test_old_attempts_and_dead_sessions_go_with_cleanup_not_on_the_request_path(app, clock, query, make_user,
                                                                              monkeypatch):
    """Attempts older than a day and expired or idle sessions are deleted by `wsgiauth cleanup`, in batches."""
    client = browser(app)
    for _ in range(3):
        signin(client, password="wrong password")
    assert len(query("attempts_for_tests")) == 6  # per-IP and per-account, 3 each
    make_user(email="grace@example.com", firstname="Grace")
    old = browser(app)
    assert signin(old, email="grace@example.com").status_code == 303
    clock.advance(24 * 3600 + 1)  # past every window, and past the 2-hour idle timeout
    fresh = browser(app)
    make_user()
    assert signin(fresh).status_code == 303  # a sign-in deletes nothing of anyone else's
    # 3 failures and Grace's sign-in a day ago (per IP), today's sign-in; Ada's
    # per-account failures went with her correct sign-in.
    assert len(query("all_sessions_for_tests")) == 2 and len(query("attempts_for_tests")) == 5
    monkeypatch.setattr(cleanup_module, "BATCH", 2)  # several batches, each its own transaction
    # Of the counters' key rows, only Grace's (per account) was untouched for a day.
    assert cleanup_module.cleanup(app.db, app.settings) == {"sessions": 1, "attempts": 4, "attempt keys": 1,
                                                                 "half sign-ins": 0,
                                                                 "passkey challenges": 0, "security events": 0,
                                                                 "sent mail": 0, "contact messages": 0}
    assert len(query("attempts_for_tests")) == 1
    assert [row["uid"] for row in query("all_sessions_for_tests")] == [2]  # the live one stays
    assert fresh.get("/profile").status_code == 200
