"""Passkeys in a real Chromium with a virtual authenticator (DevTools protocol, WebAuthn domain).

The authenticator is "internal" (a platform passkey, like a laptop's fingerprint reader),
keeps discoverable credentials and verifies the user by itself, so every ceremony
completes without a person touching anything.
"""


import pytest

from wsgiauth import totp

from chromium import expect
from person import SIGNED_IN_NAV, current_code, fill, nav_names, sign_in, sign_out, submit, try_sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_host():
    """Reach the live server as localhost: browsers accept no IP address as a passkey's site (RP ID)."""
    return "localhost"


def virtual_authenticator(page):
    """Attach a virtual platform authenticator with user verification to page; return (CDP session, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


# A browser without passkeys in autofill (conditional mediation), so only the button can ask.
NO_AUTOFILL_JS = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


def passkeys_table(page):
    """Return the rows of the security page's Passkeys table."""
    return page.get_by_role("table", name="Passkeys").locator("tbody tr")


def test_add_a_passkey_sign_in_with_the_button_and_autofill_then_remove_it(page, live_user, live_query):
    live_user()
    cdp, authenticator = virtual_authenticator(page)
    sign_in(page)
    page.goto("/security")
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    page.get_by_label("Name of the new passkey").fill("Laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    expect(page).to_have_url("/security")
    expect(page.get_by_text("Your passkey “Laptop” has been added.")).to_be_visible()
    expect(passkeys_table(page)).to_have_count(1)
    expect(passkeys_table(page)).to_contain_text("never")
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"

    # Autofill (conditional mediation): the sign-in page asks at once, and the browser
    # offers the passkey in the email field's autofill; the virtual authenticator
    # answers that request by itself, as a person choosing the passkey there would.
    sign_out(page)
    with page.expect_navigation(url="**/profile"):
        page.goto("/signin")
    assert nav_names(page) == SIGNED_IN_NAV

    # The button: in a browser that offers no passkeys in autofill, one press signs in.
    sign_out(page)
    page.context.add_init_script(NO_AUTOFILL_JS)
    page.goto("/signin")
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "username webauthn")
    with page.expect_navigation(url="**/profile"):
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert nav_names(page) == SIGNED_IN_NAV
    signins = [row for row in live_query("security_events_for_tests") if row["event"] == "signin"]
    assert [row["detail"] for row in signins] == ["password", "passkey", "passkey"]

    page.goto("/security")
    expect(page.get_by_role("table", name="Recent sign-ins").locator("tbody tr").first).to_contain_text("Passkey")
    expect(passkeys_table(page)).not_to_contain_text("never")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove Laptop").click()
    expect(page.get_by_text("Your passkey “Laptop” has been removed.")).to_be_visible()
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    assert not live_query("passkeys_for_tests")


def test_a_passkey_as_the_second_step_after_the_password(page, live_user, live_query):
    live_user()
    virtual_authenticator(page)
    sign_in(page)
    page.goto("/security")
    page.get_by_label("Name of the new passkey").fill("Laptop")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    # An authenticator app too, so signing in with the password asks for a second step.
    submit(page, "Set up an authenticator app")
    key = totp.decode_key(page.get_by_label("The key, in groups of four characters").inner_text().replace(" ", ""))
    fill(page, {"Code from the app": current_code(key, set())})
    submit(page, "Turn on")
    page.get_by_role("link", name="I have saved them").click()
    sign_out(page)

    page.context.add_init_script(NO_AUTOFILL_JS)  # so the sign-in page itself does not sign in by passkey
    try_sign_in(page, "ada@example.com", "correct horse")
    expect(page).to_have_url("/signin/code")
    with page.expect_navigation(url="**/profile"):
        page.get_by_role("button", name="Use a passkey instead").click()
    signins = [row for row in live_query("security_events_for_tests") if row["event"] == "signin"]
    assert signins[-1]["detail"] == "password+passkey"
    page.goto("/security")
    expect(page.get_by_role("table", name="Recent sign-ins").locator("tbody tr").first).to_contain_text(
        "Password + passkey")
