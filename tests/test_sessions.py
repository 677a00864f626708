"""Session cookies: flags, server-side rows, rotation, replay after sign-out, expiry, tampering."""


import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from wsgiauth.sessions import hash_id

from conftest import AuthActions


def cookie_header(response, name="wsgiauth"):
    """Return the Set-Cookie header for the session cookie."""
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def session_cookie(client, name="wsgiauth"):
    """Return the session cookie value the client holds, or None."""
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def test_cookie_flags(auth, make_user):
    make_user()
    header = cookie_header(auth.signin())
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Secure" not in header
    assert "Expires" not in header and "Max-Age" not in header  # ends with the browser


def test_secure_cookie_flag_when_configured(make_app):
    client = Client(make_app(SECURE_COOKIES=True))
    page = client.get("/signup", base_url="https://localhost")
    header = cookie_header(page, name="__Host-wsgiauth")
    assert "Secure" in header and "HttpOnly" in header and "Path=/" in header
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.both_databases
def test_server_keeps_only_a_hash_of_the_session_id(client, signed_in, query):
    cookie = session_cookie(client)
    sid = cookie.split(".")[0]
    assert len(sid) >= 43  # 32 random bytes, url-safe base64: 256 bits
    stored = query("all_sessions_for_tests")
    assert [row["id_hash"] for row in stored] == [hash_id(sid)]
    assert sid not in str(stored)
    row = stored[0]
    assert row["created_at"] == row["last_seen"] and row["expires_at"] == row["created_at"] + 12 * 3600


def test_sign_in_issues_a_new_session_id(client, auth, make_user):
    make_user()
    client.get("/signin")
    before = session_cookie(client)
    assert before
    auth.signin()
    after = session_cookie(client)
    assert after and after != before
    # The pre-sign-in cookie is never promoted: replaying it is signed out.
    stranger = Client(client.application)
    stranger.set_cookie("wsgiauth", before)
    assert stranger.get("/profile").status_code == 303


@pytest.mark.both_databases
def test_cookie_copied_before_signout_does_not_work_when_replayed(client, signed_in, query):
    copied = session_cookie(client)
    thief = Client(client.application)
    thief.set_cookie("wsgiauth", copied)
    assert thief.get("/profile").status_code == 200
    response = signed_in.signout()
    assert "wsgiauth=;" in cookie_header(response) and "Expires=Thu, 01 Jan 1970" in cookie_header(response)
    assert query("all_sessions_for_tests") == []
    assert thief.get("/profile").status_code == 303
    assert client.get("/profile").status_code == 303


@pytest.mark.both_databases
def test_sessions_expire_on_the_server(make_app, make_user, clock):
    app = make_app(SESSION_LIFETIME=3600)
    make_user(app)
    client = Client(app)
    AuthActions(client).signin()
    clock.advance(3599)
    assert client.get("/profile").status_code == 200
    clock.advance(2)
    assert client.get("/profile").status_code == 303


def test_tampered_cookie_means_signed_out(client, signed_in):
    good = session_cookie(client)
    sid, signature = good.rsplit(".", 1)
    def flip(text):
        """Change the first character, whatever it is."""
        # Not the last: the last base64 character of the signature carries
        # padding bits that decoding ignores, so A<->B there can change nothing.
        return ("B" if text[0] == "A" else "A") + text[1:]

    for bad in (sid + "." + flip(signature), flip(sid) + "." + signature, "garbage", ".", "é" * 10,
                "a" * 4000):
        stranger = Client(client.application)
        stranger.set_cookie("wsgiauth", bad)
        response = stranger.get("/profile")
        assert response.status_code == 303, bad
        assert stranger.get("/").status_code == 200


def test_cookie_signed_with_another_key_means_signed_out(client, signed_in, make_app):
    other = Client(make_app(SECRET_KEY="a-completely-different-secret-key-0123456789"))
    other.set_cookie("wsgiauth", session_cookie(client))
    assert other.get("/profile").status_code == 303


@pytest.mark.both_databases
def test_deleted_user_cookie_means_signed_out(client, signed_in, query):
    query("delete_user_for_tests", email="ada@example.com")
    assert client.get("/profile").status_code == 303
    assert client.get("/").status_code == 200


def test_csrf_token_changes_at_sign_in(client, auth, make_user):
    before = csrf_token_in(client.get("/signin").get_data(as_text=True))
    make_user()
    auth.signin()
    after = csrf_token_in(client.get("/signout").get_data(as_text=True))
    assert before != after


