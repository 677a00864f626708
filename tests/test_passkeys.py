"""Passkeys (WebAuthn, issue 15) through the server's own checks, with a software passkey (tests/softkey.py)."""

import json
import subprocess
import sys

import pytest
from helpers import csrf_token_in
from softkey import SoftKey
from werkzeug.test import Client

from wsgiauth.cleanup import cleanup

from conftest import TEST_BASE_URL

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:fido2")


def options(client, page, url):
    """Load page for its CSRF token and ask url for WebAuthn options; return the `options` JSON."""
    token = csrf_token_in(client.get(page).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 200 and response.content_type == "application/json"
    return response.get_json()["options"]


def post(client, page, url, **data):
    """Post a form to url with the CSRF token of page."""
    token = csrf_token_in(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def add_passkey(client, key, name="Laptop"):
    """Add key as a passkey of the signed-in user; return the response."""
    answer = key.create(options(client, "/security", "/security/passkeys/options"))
    return post(client, "/security", "/security/passkeys", credential=answer, name=name)


def passkey_signin(client, key, **answer_options):
    """Sign in with key as the sign-in page's script would; return the response."""
    answer = key.get(options(client, "/signin", "/signin/passkey/options"), **answer_options)
    return post(client, "/signin", "/signin/passkey", credential=answer)


def events(query, name):
    """Return the audit rows of event `name`."""
    return [row for row in query("security_events_for_tests") if row["event"] == name]


def passkey_signins(query):
    """Return the audit rows of sign-ins with a passkey."""
    return [row for row in events(query, "signin") if row["detail"] == "passkey"]


@pytest.fixture
def key():
    """A software passkey for the test app's site (BASE_URL http://localhost)."""
    return SoftKey(TEST_BASE_URL)


def test_relying_party_comes_from_base_url_never_the_host_header(make_app, make_user):
    app = make_app(BASE_URL="https://accounts.example.org/app")
    assert (app.passkeys.id, app.passkeys.origin) == ("accounts.example.org", "https://accounts.example.org")
    from werkzeug.test import Client
    client = Client(app)
    page = client.get("/signin", headers={"Host": "evil.example"}).get_data(as_text=True)
    response = client.post("/signin/passkey/options", headers={"Host": "evil.example"},
                           data={"csrf_token": csrf_token_in(page)})
    assert response.get_json()["options"]["rpId"] == "accounts.example.org"


@pytest.mark.parametrize("base_url", ["", "http://127.0.0.1:5000", "http://[::1]:5000"])
def test_no_passkeys_without_a_base_url_naming_a_host(make_app, base_url):
    # Browsers accept no IP address as an RP ID.
    assert make_app(BASE_URL=base_url).passkeys is None


@pytest.mark.both_databases
def test_add_a_passkey_then_sign_in_with_it_alone(signed_in, key, query):
    response = add_passkey(signed_in.client, key)
    assert response.status_code == 303 and response.headers["Location"] == "/security"
    page = signed_in.client.get("/security").get_data(as_text=True)
    assert "Your passkey “Laptop” has been added." in page and "Laptop" in page
    [row] = query("passkeys_for_tests")
    assert row["name"] == "Laptop" and row["last_used_at"] is None
    assert len(events(query, "passkey_added")) == 1
    [mail] = [m for m in query("all_outbox_for_tests") if "passkey" in m["subject"]]
    assert mail["subject"] == "A passkey was added to your account"
    assert "“Laptop”" in mail["body"] and "from Unknown browser at IP address" in mail["body"]
    assert "If it was not" in mail["body"]
    assert not query("passkey_challenges_for_tests")  # used up
    signed_in.signout()

    sessions_before = query("all_sessions_for_tests")
    response = passkey_signin(signed_in.client, key)
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    assert "ada@example.com" in signed_in.client.get("/profile").get_data(as_text=True)
    [signin] = events(query, "signin")[-1:]
    assert signin["detail"] == "passkey"
    assert query("passkeys_for_tests")[0]["sign_count"] == 1
    assert query("passkeys_for_tests")[0]["last_used_at"] is not None
    assert len(query("all_sessions_for_tests")) == len(sessions_before) + 1


@pytest.mark.both_databases
def test_a_challenge_works_once(signed_in, key, query):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    client = signed_in.client
    challenge = options(client, "/signin", "/signin/passkey/options")
    # A wrong answer uses the challenge up: the right one then comes too late.
    wrong = post(client, "/signin", "/signin/passkey", credential=key.get(challenge, origin="http://evil.example"))
    assert wrong.status_code == 400 and "could not be checked" in wrong.get_data(as_text=True)
    again = post(client, "/signin", "/signin/passkey", credential=key.get(challenge))
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert not passkey_signins(query)
    # A right answer, replayed later, finds no challenge either.
    challenge = options(client, "/signin", "/signin/passkey/options")
    answer = key.get(challenge)
    assert post(client, "/signin", "/signin/passkey", credential=answer).status_code == 303
    signed_in.signout()
    replay = post(client, "/signin", "/signin/passkey", credential=answer)
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)


@pytest.mark.both_databases
def test_an_expired_challenge_is_refused(signed_in, key, clock, query):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    challenge = options(signed_in.client, "/signin", "/signin/passkey/options")
    clock.advance(5 * 60)
    response = post(signed_in.client, "/signin", "/signin/passkey", credential=key.get(challenge))
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert not passkey_signins(query)


@pytest.mark.both_databases
def test_a_sign_counter_going_backwards_is_refused_and_logged(signed_in, key, query):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    assert passkey_signin(signed_in.client, key, counter=5).status_code == 303
    signed_in.signout()
    response = passkey_signin(signed_in.client, key, counter=3)
    assert response.status_code == 400 and "This passkey was refused" in response.get_data(as_text=True)
    [event] = events(query, "passkey_counter_error")
    assert event["detail"] == "5>=3"
    assert len(passkey_signins(query)) == 1
    assert query("passkeys_for_tests")[0]["sign_count"] == 5


def test_a_counter_that_stays_zero_is_accepted(signed_in, key):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    assert passkey_signin(signed_in.client, key, counter=0).status_code == 303
    signed_in.signout()
    assert passkey_signin(signed_in.client, key, counter=0).status_code == 303


@pytest.mark.both_databases
def test_a_removed_passkey_no_longer_signs_in(signed_in, key, query):
    add_passkey(signed_in.client, key)
    [row] = query("passkeys_for_tests")
    response = post(signed_in.client, "/security", "/security/passkeys/remove", passkey=row["id"])
    assert response.status_code == 303
    assert "Your passkey “Laptop” has been removed." in signed_in.client.get("/security").get_data(as_text=True)
    assert not query("passkeys_for_tests")
    assert len(events(query, "passkey_removed")) == 1
    assert "A passkey was removed from your account" in [m["subject"] for m in query("all_outbox_for_tests")]
    signed_in.signout()
    response = passkey_signin(signed_in.client, key)
    assert response.status_code == 400 and "not known here" in response.get_data(as_text=True)


def test_another_users_passkey_cannot_be_removed(signed_in, key, make_user, query):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    make_user(email="eve@example.com")
    signed_in.signin(email="eve@example.com")
    [row] = query("passkeys_for_tests")
    assert post(signed_in.client, "/security", "/security/passkeys/remove", passkey=row["id"]).status_code == 404
    assert post(signed_in.client, "/security", "/security/passkeys/remove", passkey="x").status_code == 404
    assert len(query("passkeys_for_tests")) == 1


@pytest.mark.parametrize("credential", ["", "not json", "null", "{}", '{"id": "a", "rawId": "b"}', "[1, 2]",
                                        '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {}}'])
def test_broken_answers_get_a_clear_400(signed_in, key, credential):
    add_passkey(signed_in.client, key)
    response = post(signed_in.client, "/security", "/security/passkeys", credential=credential, name="x")
    assert response.status_code == 400
    signed_in.signout()
    options(signed_in.client, "/signin", "/signin/passkey/options")
    response = post(signed_in.client, "/signin", "/signin/passkey", credential=credential)
    assert response.status_code == 400 and "Sign In" in response.get_data(as_text=True)


def test_an_answer_without_a_challenge_and_a_long_name_are_refused(signed_in, key):
    response = post(signed_in.client, "/security", "/security/passkeys", credential=key.create(
        {"user": {"id": "AA"}, "challenge": "A" * 43}))
    assert response.status_code == 400 and "already used" in response.get_data(as_text=True)
    assert add_passkey(signed_in.client, key, name="x" * 61).status_code == 400


def test_the_options_need_the_csrf_token_and_adding_needs_a_session(client, signed_in):
    assert client.post("/signin/passkey/options").status_code == 400
    signed_in.signout()
    assert post(client, "/signin", "/security/passkeys/options").status_code == 303  # the sign-in gate


def test_the_pages_offer_passkeys(signed_in, app):
    page = signed_in.client.get("/security").get_data(as_text=True)
    script = f'<script src="/static/{app.static_files.hashed["passkeys.js"]}" defer>'
    assert 'id="passkey-add"' in page and "You have no passkeys yet." in page and script in page
    signed_in.signout()
    page = signed_in.client.get("/signin").get_data(as_text=True)
    assert "Sign in with a passkey" in page and 'autocomplete="username webauthn"' in page


@pytest.mark.both_databases
def test_cleanup_deletes_expired_challenges(app, client, clock, query, database_url):
    options(client, "/signin", "/signin/passkey/options")
    assert cleanup(app.db, app.settings)["passkey challenges"] == 0
    clock.advance(5 * 60 + 1)
    assert cleanup(app.db, app.settings)["passkey challenges"] == 1
    assert not query("passkey_challenges_for_tests")


WITHOUT_FIDO2 = """
import sys
sys.modules["fido2"] = None  # `import fido2` now raises ImportError, as if it were not installed
from werkzeug.test import Client
from wsgiauth import create_app, passkeys
app = create_app({"DATABASE": sys.argv[1], "SECRET_KEY": "x" * 32, "BASE_URL": "http://localhost"})
client = Client(app)
signin = client.get("/signin").get_data(as_text=True)
print({"available": passkeys.AVAILABLE, "rp": app.passkeys, "signin": client.get("/signin").status_code,
       "button": "passkey" in signin, "autocomplete": 'autocomplete="username"' in signin,
       "options": client.post("/signin/passkey/options").status_code})
"""


def test_without_fido2_the_app_works_and_offers_no_passkeys(database_url):
    if not database_url.startswith("sqlite:"):
        pytest.skip("SQLite is enough to show the app starts")
    done = subprocess.run([sys.executable, "-c", WITHOUT_FIDO2, database_url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str({"available": False, "rp": None, "signin": 200, "button": False,
                                       "autocomplete": True, "options": 400})


# -- a passkey as the second step after the password, and on Confirm access --

CODE_PAGE = "/signin/code"


def second_step(client, key, **answer_options):
    """Answer the code page's "Use a passkey instead" with key, as passkeys.js would; return the response."""
    answer = key.get(options(client, CODE_PAGE, "/signin/code/passkey/options"), **answer_options)
    return post(client, CODE_PAGE, CODE_PAGE, credential=answer)


@pytest.fixture
def protected(signed_in, key, clock):
    """Ada with an authenticator app and a passkey, signed out: her password now asks for a second step."""
    from test_second_factor import set_up_app
    set_up_app(signed_in.client, clock)
    assert add_passkey(signed_in.client, key).status_code == 303
    signed_in.signout()
    return signed_in


@pytest.mark.both_databases
def test_a_passkey_finishes_the_sign_in_after_the_password(protected, key, query, app):
    client = protected.client
    assert protected.signin().headers["Location"] == CODE_PAGE
    page = client.get(CODE_PAGE).get_data(as_text=True)
    script = f'<script src="/static/{app.static_files.hashed["passkeys.js"]}" defer>'
    assert "Use a passkey instead" in page and script in page and 'name="credential"' in page
    challenge = options(client, CODE_PAGE, "/signin/code/passkey/options")
    [allowed] = challenge["allowCredentials"]  # only this account's passkey is asked for
    assert allowed["id"] == json.loads(key.get(challenge))["id"]
    response = second_step(client, key)
    assert (response.status_code, response.headers["Location"]) == (303, "/profile")
    assert events(query, "signin")[-1]["detail"] == "password+passkey"
    assert "Password + passkey" in client.get("/security").get_data(as_text=True)


@pytest.mark.both_databases
def test_another_accounts_passkey_and_a_reused_challenge_do_not_finish_it(protected, key, make_user, query):
    client = protected.client
    make_user(email="eve@example.com")
    protected.signin(email="eve@example.com")
    eve_key = SoftKey(TEST_BASE_URL)
    add_passkey(client, eve_key)
    protected.signout()
    assert protected.signin().headers["Location"] == CODE_PAGE
    challenge = options(client, CODE_PAGE, "/signin/code/passkey/options")
    foreign = post(client, CODE_PAGE, CODE_PAGE, credential=eve_key.get(challenge))
    assert foreign.status_code == 400 and "belongs to another account" in foreign.get_data(as_text=True)
    assert client.get("/profile").status_code == 303  # still signed out
    # The challenge was used up by the refused answer: Ada's own answer to it is too late.
    again = post(client, CODE_PAGE, CODE_PAGE, credential=key.get(challenge))
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert [e["event"] for e in events(query, "signin_code_failed")] == ["signin_code_failed"] * 2
    assert second_step(client, key).status_code == 303
    assert events(query, "signin")[-1]["detail"] == "password+passkey"


def test_the_second_step_options_need_a_half_sign_in(client, protected):
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin/code/passkey/options", data={"csrf_token": csrf_token_in(page)})
    assert response.status_code == 400


def test_a_password_only_account_with_a_passkey_is_not_asked_for_a_second_step(signed_in, key):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    assert signed_in.signin().headers["Location"] == "/profile"


def confirm_with(client, key, next_path="/account"):
    """Answer the Confirm access page's "Use a passkey" with key; return the response."""
    page = f"/confirm-access?next={next_path}"
    answer = key.get(options(client, page, "/confirm-access/passkey/options"))
    return post(client, page, "/confirm-access", credential=answer, next=next_path)


@pytest.mark.both_databases
def test_a_passkey_confirms_access(signed_in, key, clock, query):
    add_passkey(signed_in.client, key)
    clock.advance(11 * 60)
    client = signed_in.client
    assert client.get("/account").headers["Location"] == "/confirm-access?next=/account"
    assert "Use a passkey" in client.get("/confirm-access?next=/account").get_data(as_text=True)
    response = confirm_with(client, key)
    assert (response.status_code, response.headers["Location"]) == (303, "/account")
    assert client.get("/account").status_code == 200
    assert events(query, "access_confirmed")


@pytest.mark.both_databases
def test_someone_elses_passkey_does_not_confirm_access(signed_in, key, make_user, clock, query):
    add_passkey(signed_in.client, key)
    signed_in.signout()
    make_user(email="eve@example.com")
    signed_in.signin(email="eve@example.com")
    eve_key = SoftKey(TEST_BASE_URL)
    add_passkey(signed_in.client, eve_key)
    clock.advance(11 * 60)
    response = confirm_with(signed_in.client, key)  # Ada's passkey, in Eve's session
    assert response.status_code == 400 and "belongs to another account" in response.get_data(as_text=True)
    assert signed_in.client.get("/account").status_code == 303
    assert not events(query, "access_confirmed")
    assert confirm_with(signed_in.client, eve_key).headers["Location"] == "/account"


def test_confirm_access_offers_no_passkey_to_an_account_without_one(signed_in):
    page = signed_in.client.get("/confirm-access?next=/account").get_data(as_text=True)
    assert "Use a passkey" not in page
    response = post(signed_in.client, "/confirm-access", "/confirm-access/passkey/options")
    assert response.status_code == 400


@pytest.mark.both_databases
def test_2_4_1_sign_in_options_are_limited_per_ip(app, clock, query):
    """ASVS 5.0 2.4.1: a client shedding its cookie cannot fill the challenge table: 60 per IP in 10 minutes."""
    def fresh_browser_asks():
        """Ask for options as a new browser would (no cookie yet); return the response."""
        client = Client(app)
        token = csrf_token_in(client.get("/signin").get_data(as_text=True))
        return client.post("/signin/passkey/options", data={"csrf_token": token})

    assert all(fresh_browser_asks().status_code == 200 for _ in range(60))
    refused = fresh_browser_asks()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(query("passkey_challenges_for_tests")) == 60
    assert [row["detail"] for row in events(query, "rate_limited")] == ["passkey-options-ip"]
    clock.advance(10 * 60 + 1)
    assert fresh_browser_asks().status_code == 200
