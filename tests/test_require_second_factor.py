"""WSGIAUTH_REQUIRE_SECOND_FACTOR (ASVS 5.0 6.3.3): an account it covers reaches only the set-up pages until it
has an authenticator app or a passkey, on wsgiauth's pages, /auth/verify and the gate; everyone else is unchanged."""

import pytest
from helpers import csrf_token_in
from security.support import browser, signed_in, signin
from softkey import SoftKey
from test_passkeys import add_passkey, options, post
from test_second_factor import code_step, password_step, post_form, set_up_app
from werkzeug.test import Client

from wsgiauth import Gate, accounts, totp

from conftest import TEST_BASE_URL

pytestmark = pytest.mark.both_databases

# Pages an account without its required factor must not reach, and where each sends it.
ELSEWHERE = ["/profile", "/account", "/account/data"]
BANNER = "This site requires a second factor for your account."


def refused_events(query):
    """Return the audit rows of pages refused for want of a second factor."""
    return [row for row in query("security_events_for_tests") if row["event"] == "second_factor_required"]


def test_everyone_without_a_factor_reaches_only_the_set_up_until_they_add_one(make_app, clock, query):
    app = make_app(REQUIRE_SECOND_FACTOR="*")
    ada = signed_in(app)  # the password still signs in: the session is where the factor is set up
    for path in ELSEWHERE:
        answer = ada.get(path)
        assert (answer.status_code, answer.headers["Location"]) == (303, "/security"), path
    # A form too: nothing is changed (the name stays as it was).
    token = csrf_token_in(ada.get("/security").get_data(as_text=True))
    renamed = ada.post("/account/name", data={"csrf_token": token, "firstname": "Eve", "lastname": "Lovelace"})
    assert (renamed.status_code, renamed.headers["Location"]) == (303, "/security")
    assert [row["firstname"] for row in query("all_users_for_tests")] == ["Ada"]
    page = ada.get("/security")
    assert page.status_code == 200 and BANNER in page.get_data(as_text=True)
    assert [row["detail"] for row in refused_events(query)] == ["/profile", "/account", "/account/data",
                                                                 "/account/name"]
    assert ada.get("/").status_code == 200  # public pages stay public
    set_up_app(ada, clock)
    for path in ELSEWHERE:
        assert ada.get(path).status_code == 200, path
    assert BANNER not in ada.get("/security").get_data(as_text=True)
    # The next sign-in asks for the code, as for any account with an app.
    clock.advance(totp.STEP)
    assert password_step(app, addr="127.0.0.7")[1].headers["Location"] == "/signin/code"
    # Signing out still works for the account without a factor.
    eve = signed_in(app, email="eve@example.com", addr="127.0.0.8")
    assert post_form(eve, "/signout", "/security").headers["Location"] == "/"
    assert eve.get("/security").headers["Location"].startswith("/signin")


def test_a_group_s_members_need_one_and_everyone_else_is_unchanged(make_app, make_user, query):
    app = make_app(REQUIRE_SECOND_FACTOR="ops, admin")
    grace = make_user(app, email="grace@example.com")
    app.db.transaction(lambda tx: accounts.add_to_group(app, tx, None, grace, accounts.ADMIN))
    ada = signed_in(app)
    for path in ELSEWHERE:
        assert ada.get(path).status_code == 200, path
    assert BANNER not in ada.get("/security").get_data(as_text=True)
    assert refused_events(query) == []
    admin = browser(app, "127.0.0.3")
    assert signin(admin, email="grace@example.com").headers["Location"] == "/profile"
    for path in ["/admin", f"/admin/users/{grace}", "/profile"]:
        assert admin.get(path).headers["Location"] == "/security", path
    assert len(refused_events(query)) == 3


def test_the_last_factor_cannot_be_removed_while_one_is_required(make_app, clock, query):
    app = make_app(REQUIRE_SECOND_FACTOR="*")
    ada = signed_in(app)
    set_up_app(ada, clock)
    removed = post_form(ada, "/security/app/remove", "/security")
    assert (removed.status_code, removed.headers["Location"]) == (303, "/security")
    assert "the last one cannot be removed" in ada.get("/security").get_data(as_text=True)
    assert query("totp_factors_for_tests")[0]["confirmed_at"] is not None
    assert ada.get("/profile").status_code == 200


def test_a_passkey_is_a_second_factor_and_then_the_password_alone_does_not_sign_in(make_app, query):
    app = make_app(REQUIRE_SECOND_FACTOR="*")
    ada = signed_in(app)
    key = SoftKey(TEST_BASE_URL)
    add_passkey(ada, key)
    assert ada.get("/profile").status_code == 200
    client, answer = password_step(app, addr="127.0.0.4")
    assert answer.headers["Location"] == "/signin/code"
    page = client.get("/signin/code").get_data(as_text=True)
    assert "use your passkey to\n  finish signing in" in page and 'name="code"' not in page
    assert code_step(client, "123456").status_code == 200  # no code opens it
    assert client.get("/profile").headers["Location"].startswith("/signin")
    challenge = options(client, "/signin/code", "/signin/code/passkey/options")
    done = post(client, "/signin/code", "/signin/code", credential=key.get(challenge))
    assert (done.status_code, done.headers["Location"]) == (303, "/profile")
    # Its only factor, so it stays.
    [row] = query("passkeys_for_tests")
    removed = post_form(client, "/security/passkeys/remove", "/security", passkey=str(row["id"]))
    assert removed.headers["Location"] == "/security" and len(query("passkeys_for_tests")) == 1


def host(environ, start_response):
    """A host app that says who the gate says is signed in."""
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [environ.get("REMOTE_USER", "stranger").encode()]


def test_forward_auth_and_the_gate_tell_no_one_who_it_is_until_it_has_a_factor(make_app, make_user, query):
    app = make_app(REQUIRE_SECOND_FACTOR="*")
    make_user(app)
    ada = Client(Gate(host, app, protect=["/reports"]))
    token = csrf_token_in(ada.get("/accounts/signin").get_data(as_text=True))
    ada.post("/accounts/signin", data={"email": "ada@example.com", "password": "correct horse", "csrf_token": token})
    assert ada.get("/public").get_data(as_text=True) == "stranger"  # no identity passed on
    browser_answer = ada.get("/reports/1", headers={"Accept": "text/html"})
    assert (browser_answer.status_code, browser_answer.headers["Location"]) == (303, "/accounts/security")
    program = ada.get("/reports/1", headers={"Accept": "application/json"})
    assert program.status_code == 403 and program.get_data(as_text=True) == (
        "This account must set up a second factor (an authenticator app or a passkey) first: "
        "/accounts/security\n")
    verify = ada.get("/accounts/auth/verify")
    assert verify.status_code == 403 and "must set up a second factor" in verify.get_data(as_text=True)
    assert "Remote-User" not in verify.headers
    assert [row["detail"] for row in refused_events(query)] == ["/reports", "/reports", "/auth/verify"]
    assert ada.get("/accounts/security").status_code == 200
