"""The authenticator app (TOTP) and recovery codes: setting them up, the second sign-in step, and their limits."""

import re

import pytest
import segno
from helpers import csrf_token_in
from security.support import browser, signed_in, signin

from wsgiauth import migrations, totp
from wsgiauth.queries import split_script
from wsgiauth.tokens import RESET_PASSWORD

pytestmark = pytest.mark.both_databases

CODE_PAGE = "/signin/code"
WRONG = "That code is not right, or it has been used already."


def post_form(client, path, form_path, **data):
    """Load form_path for its CSRF token (the form posting to path) and post data to path."""
    page = client.get(form_path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_in(page, action=path), **data})


def set_up_app(client, clock):
    """Set up an authenticator app the way a person does (reading the key off the page); return (key, codes)."""
    assert post_form(client, "/security/app", "/security").headers["Location"] == "/security/app"
    page = client.get("/security/app").get_data(as_text=True)
    key = totp.decode_key(re.search(r'<code aria-label="The key[^"]*">([A-Z2-7 ]+)</code>', page)[1].replace(" ", ""))
    assert "otpauth://totp/wsgiauth:ada@example.com?secret=" in page
    done = post_form(client, "/security/app/confirm", "/security/app", code=totp.totp(key, clock()))
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>", done.get_data(as_text=True))
    return key, codes


def password_step(app, addr="127.0.0.2", **extra):
    """Return a new browser that typed the right password, and the answer it got."""
    client = browser(app, addr)
    return client, signin(client, **extra)


def code_step(client, code, **extra):
    """Type a code on the second-step page; return the answer."""
    return post_form(client, CODE_PAGE, CODE_PAGE, code=code, **extra)


@pytest.fixture
def protected(app, clock, query):
    """Ada, signed in, with an authenticator app set up: (her browser, the key, her 10 recovery codes)."""
    ada = signed_in(app)
    key, codes = set_up_app(ada, clock)
    clock.advance(totp.STEP)  # the set-up code's step is used up
    return ada, key, codes


def test_setting_up_the_app_needs_a_current_code_and_shows_ten_recovery_codes_once(app, clock, query):
    ada = signed_in(app)
    assert "Set up an authenticator app" in ada.get("/security").get_data(as_text=True)
    post_form(ada, "/security/app", "/security")
    wrong = post_form(ada, "/security/app/confirm", "/security/app", code="000000")
    assert "That is not the code your app shows now" in wrong.get_data(as_text=True)
    assert query("totp_factors_for_tests")[0]["confirmed_at"] is None  # not on until a right code
    key, codes = set_up_app(ada, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    rows = query("recovery_codes_for_tests")
    assert len(rows) == 10 and not any(code.replace("-", "") in str(rows) for code in codes)  # hashes only
    page = ada.get("/security").get_data(as_text=True)
    assert "10 of your recovery codes are left" in page and codes[0] not in page
    assert [m["subject"] for m in query("all_outbox_for_tests")][-1] == "An authenticator app was added to your account"
    assert "authenticator_added" in [e["event"] for e in query("security_events_for_tests")]


def test_the_password_alone_no_longer_signs_in_and_the_code_does(app, protected, query, clock):
    client, answer = password_step(app, next="/account")
    assert answer.headers["Location"] == f"{CODE_PAGE}?next=/account"
    assert client.get("/profile").headers["Location"].startswith("/signin")  # no session yet
    done = code_step(client, totp.totp(protected[1], clock()), next="/account")
    assert (done.status_code, done.headers["Location"]) == (303, "/account")
    assert client.get("/profile").status_code == 200
    history = client.get("/security").get_data(as_text=True)
    assert "Password + authenticator app" in history
    assert query("pending_signins_for_tests") == []


def test_a_code_works_once_and_only_in_its_own_30_seconds(app, protected, clock):
    """ASVS 5.0 6.5.1, 6.5.5: used once; by default no drift, so a code lives at most 30 s."""
    key = protected[1]
    first, _ = password_step(app)
    code = totp.totp(key, clock())
    assert code_step(first, code).headers["Location"] == "/profile"
    second, _ = password_step(app, addr="127.0.0.3")
    assert WRONG in code_step(second, code).get_data(as_text=True)  # replayed
    for steps, accepted in ((-1, False), (1, False), (0, True)):
        clock.advance(3 * totp.STEP)  # each round starts on a fresh step
        client, _ = password_step(app, addr="127.0.0.4")
        answer = code_step(client, totp.totp(key, clock() + steps * totp.STEP))
        assert (answer.status_code == 303) is accepted, steps
        if not accepted:
            assert "Codes change every 30 seconds: type the one your app shows now." in answer.get_data(as_text=True)


def test_an_operator_may_accept_one_step_of_drift_and_a_code_still_works_once(make_app, clock):
    """WSGIAUTH_TOTP_DRIFT=1 (RFC 6238's tolerance, a documented deviation from 6.5.5): one step either way."""
    app = make_app(TOTP_DRIFT="1")
    ada = signed_in(app)
    key, _ = set_up_app(ada, clock)
    for steps, accepted in ((-2, False), (2, False), (-1, True), (1, True)):
        clock.advance(3 * totp.STEP)
        client, _ = password_step(app, addr="127.0.0.4")
        code = totp.totp(key, clock() + steps * totp.STEP)
        assert (code_step(client, code).status_code == 303) is accepted, steps
        if accepted:  # and the same code again, from another browser: replay refused
            again, _ = password_step(app, addr="127.0.0.5")
            assert WRONG in code_step(again, code).get_data(as_text=True)


def test_wrong_codes_share_the_password_backoff(app, protected, clock):
    client, _ = password_step(app)
    for _ in range(5):
        assert WRONG in code_step(client, "123456").get_data(as_text=True)
    throttled = code_step(client, totp.totp(protected[1], clock()))  # even the right code waits now
    assert throttled.status_code == 429 and "Too many attempts. Try again in 1 minute." in throttled.get_data(
        as_text=True)
    # The password page counts them too: the right password is refused, unhashed.
    assert signin(browser(app, "127.0.0.9")).status_code == 429


def test_a_half_sign_in_lasts_five_minutes_and_only_in_its_own_browser(app, protected, clock):
    client, _ = password_step(app)
    stranger = browser(app, "127.0.0.5")
    assert stranger.get(CODE_PAGE).headers["Location"] == "/signin"
    # A copy of the cookie with one character changed: its signature fails, so it names no half sign-in.
    value = client.get_cookie("wsgiauth").value
    # A middle one: the last base64 character may carry only padding bits, and a change there can decode the same.
    middle = len(value) // 2
    stranger.set_cookie("wsgiauth", value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1:])
    assert stranger.get(CODE_PAGE).headers["Location"] == "/signin"
    token = csrf_token_in(stranger.get("/signin").get_data(as_text=True))
    posted = stranger.post(CODE_PAGE, data={"csrf_token": token, "code": totp.totp(protected[1], clock())})
    assert posted.headers["Location"] == "/signin"
    clock.advance(5 * 60 + 1)
    expired = client.get(CODE_PAGE)
    assert expired.headers["Location"] == "/signin"
    assert "Your sign-in took more than 5 minutes" in client.get("/signin").get_data(as_text=True)


def test_a_recovery_code_signs_in_once_and_mails_how_many_are_left(app, protected, query):
    code = protected[2][3]
    client, _ = password_step(app)
    assert code_step(client, code.lower().replace("-", " ")).headers["Location"] == "/profile"
    page = client.get("/security").get_data(as_text=True)
    assert "Password + recovery code" in page and "9 of your recovery codes are left" in page
    mail = query("all_outbox_for_tests")[-1]
    assert mail["subject"] == "A recovery code was used to sign in" and "9 of your recovery codes are left" in mail[
        "body"]
    # When, from which browser and IP, and what to do if it was not them.
    assert "UTC, from Firefox on Linux at IP address 127.0.0.2" in mail["body"] and "/forgot" in mail["body"]
    again, _ = password_step(app, addr="127.0.0.3")
    assert WRONG in code_step(again, code).get_data(as_text=True)
    # The count the page shows (totp_factors.codes_left) follows the codes: a used one counts once.
    assert code_step(again, protected[2][4]).headers["Location"] == "/profile"
    assert "8 of your recovery codes are left" in again.get("/security").get_data(as_text=True)
    assert [row["codes_left"] for row in query("recovery_codes_left_for_tests")] == [8]


def test_new_recovery_codes_replace_the_old_ones(app, protected, query):
    ada, _, old = protected
    renewed = post_form(ada, "/security/recovery-codes", "/security")
    new = re.findall(r"<li><code>([0-9A-Z-]{14})</code></li>", renewed.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert query("all_outbox_for_tests")[-1]["subject"] == "You have new recovery codes"
    client, _ = password_step(app)
    assert WRONG in code_step(client, old[0]).get_data(as_text=True)
    assert code_step(client, new[0]).headers["Location"] == "/profile"
    assert "9 of your recovery codes are left" in client.get("/security").get_data(as_text=True)
    post_form(client, "/security/recovery-codes", "/security")
    assert "10 of your recovery codes are left" in client.get("/security").get_data(as_text=True)


def test_migration_0014_counts_each_apps_unused_recovery_codes(app, protected, query):
    # Its UPDATE, run on app rows without a count (as before 0014), counts the codes not used yet.
    client, _ = password_step(app)
    code_step(client, protected[2][0])
    query("forget_recovery_codes_left_for_tests")
    script = (migrations.MIGRATIONS_DIR / f"0014_recovery_codes_left.{app.db.dialect}.sql").read_text(encoding="utf-8")
    update = next(statement for statement in split_script(script) if statement.startswith("UPDATE"))
    app.db.transaction(lambda tx: tx.script(update))
    assert [row["codes_left"] for row in query("recovery_codes_left_for_tests")] == [9]
    assert "9 of your recovery codes are left" in client.get("/security").get_data(as_text=True)


def test_removing_the_app_ends_nothing_else_and_sign_in_asks_for_the_password_only(app, protected, query):
    ada = protected[0]
    phone, _ = password_step(app, addr="127.0.0.7")
    code_step(phone, totp.totp(protected[1], app.now()))
    assert post_form(ada, "/security/app/remove", "/security").headers["Location"] == "/security"
    assert "The authenticator app has been removed" in ada.get("/security").get_data(as_text=True)
    assert phone.get("/profile").status_code == 200 and ada.get("/profile").status_code == 200
    assert query("recovery_codes_for_tests") == [] and query("totp_factors_for_tests") == []
    assert query("all_outbox_for_tests")[-1]["subject"] == "The authenticator app was removed from your account"
    _, answer = password_step(app, addr="127.0.0.8")
    assert answer.headers["Location"] == "/profile"


def test_a_password_reset_does_not_skip_the_second_step(app, protected, query):
    """ASVS 6.4.3 (5.0): resetting the password leaves the second factor in place."""
    token = app.tokens.make(RESET_PASSWORD, app.db.one("account_by_uid", uid=query("all_users_for_tests")[0]["uid"]))
    stranger = browser(app, "127.0.0.6")  # whoever holds the mailbox
    assert stranger.get(f"/reset/{token}").headers["Location"] == "/reset"  # the token goes into a cookie
    reset = post_form(stranger, "/reset", "/reset", password="a brand new password", password2="a brand new password")
    assert reset.headers["Location"] == "/signin"
    _, answer = password_step(app, password="a brand new password")
    assert answer.headers["Location"] == CODE_PAGE


def test_keep_me_signed_in_is_honoured_after_the_second_step(app, protected, clock):
    client, _ = password_step(app, remember=True)
    done = code_step(client, totp.totp(protected[1], clock()))
    cookie = [h for h in done.headers.getlist("Set-Cookie") if h.startswith("wsgiauth=")][0]
    assert "Max-Age=2592000" in cookie


def test_a_sign_in_from_a_new_browser_and_network_is_mailed_once(app, query, clock):
    """ASVS 5.0 6.3.5: the owner hears of a sign-in from a browser and network unused for 90 days."""
    signed_in(app, addr="192.0.2.10")  # the first sign-in: nothing to compare with, no mail
    signin(browser(app, addr="192.0.2.77"))  # the same browser on the same /24 network: no mail
    assert query("all_outbox_for_tests") == []
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1"
    signin(browser(app, addr="198.51.100.5", agent=phone))
    (mail,) = query("all_outbox_for_tests")
    assert mail["subject"] == "New sign-in to your account"
    assert "Safari on iOS" in mail["body"] and "198.51.100.5" in mail["body"] and "/security" in mail["body"]
    signin(browser(app, addr="198.51.100.6", agent=phone))  # now a known place
    assert len(query("all_outbox_for_tests")) == 1
    clock.advance(91 * 24 * 3600)
    signin(browser(app, addr="198.51.100.6", agent=phone))  # unused for 90 days: new again
    assert len(query("all_outbox_for_tests")) == 2


def test_a_code_from_the_app_confirms_access_in_place_of_the_password(app, protected, clock):
    ada, key = protected[0], protected[1]
    clock.advance(11 * 60)  # the 10 minutes of the sign-in's confirmation are over
    assert ada.get("/account").headers["Location"] == "/confirm-access?next=/account"
    page = ada.get("/confirm-access?next=/account").get_data(as_text=True)
    assert "Or a code from your authenticator app" in page
    code = totp.totp(key, clock())
    wrong = post_form(ada, "/confirm-access", "/confirm-access?next=/account", code="000000", next="/account")
    assert "That code is not right" in wrong.get_data(as_text=True)
    done = post_form(ada, "/confirm-access", "/confirm-access?next=/account", code=code, next="/account")
    assert done.headers["Location"] == "/account" and ada.get("/account").status_code == 200
    clock.advance(11 * 60)
    replayed = post_form(ada, "/confirm-access", "/confirm-access?next=/account", code=code, next="/account")
    assert "That code is not right" in replayed.get_data(as_text=True)


def test_the_set_up_page_shows_the_otpauth_link_as_a_qr_code(app, clock):
    ada = signed_in(app)
    post_form(ada, "/security/app", "/security")
    page = ada.get("/security/app").get_data(as_text=True)
    uri = re.search(r'<a href="(otpauth://[^"]+)">', page)[1].replace("&amp;", "&")
    # The very drawing segno makes of the link the page offers.
    assert segno.make(uri, error="m").svg_inline(scale=5, svgclass="qr-code",
                                                 title="QR code to add ada@example.com to an authenticator app") in page
