"""The account lifecycle in a real Chromium: confirm the address, reset a forgotten password, account settings.

Every link is the one in the email a real SMTP server (aiosmtpd) received from the live server.
"""

import pytest

from chromium import DESKTOP, PHONE, expect
from conftest import TEST_CONTACT_TO, TEST_MAIL_FROM
from person import (
    ADA,
    check_keyboard_page,
    field_errors,
    fill,
    form,
    mailed_url,
    nav_names,
    open_link,
    page_problems,
    sign_in,
    sign_out,
    sign_up,
    submit,
    try_sign_in,
    typed_values,
)
from smtpserver import wait_for_mail

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = ADA["Email"], ADA["Password"]
NEW_EMAIL, NEW_PASSWORD = "augusta@example.org", "a brand new password"
SIGNED_OUT_NAV = ["Home", "About", "Contact", "Sign Up", "Sign In"]
FORGOT_ANSWER = "If an account exists for that address, we have sent a link to reset its password."
WRONG = "Invalid e-mail or password"


@pytest.fixture(scope="module")
def live_server_env(live_smtp_server):
    """Send the live server's mail to a real SMTP server."""
    return {"WSGIAUTH_MAIL_URL": live_smtp_server.url, "WSGIAUTH_MAIL_FROM": TEST_MAIL_FROM,
            "WSGIAUTH_CONTACT_TO": TEST_CONTACT_TO}


@pytest.fixture
def smtp_server(live_mail):
    """The live server's SMTP server, with none of the earlier tests' mail."""
    return live_mail


def heading(page):
    """Return the page's <h1>."""
    return page.get_by_role("heading", level=1)


def notice(page):
    """Return the one-shot notices and status messages in the main content."""
    return page.locator("main").get_by_role("status")


def test_confirm_the_address_from_the_link_in_the_mail(page, new_page, smtp_server, live_server):
    sign_up(page)
    # One banner, not two (issue 17): the welcome, in the box with the button to send the link again.
    expect(notice(page)).to_have_count(1)
    expect(notice(page)).to_contain_text(f"Welcome, Ada! We have sent a link to {EMAIL}")
    expect(notice(page).get_by_role("button", name="Send the link again")).to_be_visible()

    mail = wait_for_mail(smtp_server, EMAIL, "Please confirm your email address")
    response = open_link(page, live_server, mail, "/confirm/")
    assert response.status == 200 and page.url == live_server + "/confirm/link"
    expect(heading(page)).to_have_text("Email address confirmed")
    expect(notice(page)).to_have_text(f"Thank you: {EMAIL} is confirmed.")
    page.get_by_role("link", name="Go to your profile").click()
    expect(page).to_have_url("/profile")
    expect(page.get_by_text("This is ada@example.com's profile page")).to_be_visible()
    expect(page.get_by_text("not confirmed")).to_have_count(0)

    # The same link again, signed in: said plainly, with the way on (issue 17).
    assert open_link(page, live_server, mail, "/confirm/").status == 200
    expect(heading(page)).to_have_text("Your email address is already confirmed")
    page.get_by_role("link", name="Go to your profile").click()
    expect(page).to_have_url("/profile")

    # Opened where nobody is signed in, the page asks for the address.
    stranger = new_page()
    assert open_link(stranger, live_server, mail, "/confirm/").status == 410
    fill(stranger, {"Email": EMAIL})
    submit(stranger, "Enter")
    expect(stranger).to_have_url("/signin")
    expect(notice(stranger)).to_have_text(
        "If an account with that address is waiting for confirmation, we have sent it a new link.")
    assert len(smtp_server.messages) == 1  # confirmed already: no second link


def test_reset_a_forgotten_password_from_the_link_in_the_mail(page, new_page, smtp_server, live_server, live_user):
    live_user()
    page.goto("/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url("/forgot")
    fill(page, {"Email": "nobody@example.com"})  # no such account: the same answer
    submit(page, "Enter")
    expect(page).to_have_url("/forgot/sent")
    expect(notice(page)).to_have_text(FORGOT_ANSWER)
    page.get_by_role("link", name="try again").click()
    fill(page, {"Email": EMAIL})
    submit(page, "Enter")
    expect(page).to_have_url("/forgot/sent")
    expect(notice(page)).to_have_text(FORGOT_ANSWER)

    mail = wait_for_mail(smtp_server, EMAIL, "Reset your password")
    open_link(page, live_server, mail, "/reset/")
    expect(page).to_have_url("/reset")
    # The token is in a cookie only this page gets, out of reach of scripts.
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "wsgiauth-reset-password"]
    assert (cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == ("/reset", True, "Lax")
    # Another browser, without it, is told the link does not work.
    elsewhere = new_page()
    assert elsewhere.goto("/reset").status == 400
    expect(elsewhere.get_by_text("This link is not valid")).to_be_visible()
    expect(heading(page)).to_have_text("Choose a new password")
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD.upper()})
    submit(page, "Enter")
    assert field_errors(page) == {"New password again": "The two passwords do not match."}
    assert typed_values(page, "New password", "New password again") == {"New password": "",
                                                                        "New password again": ""}
    fill(page, {"New password": "short", "New password again": "short"})
    submit(page, "Enter")
    assert field_errors(page) == {"New password": "Password must be at least 8 characters."}
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD})
    submit(page, "Change password")
    expect(page).to_have_url("/signin")
    expect(notice(page)).to_have_text("Your password has been changed. Please sign in.")
    assert [c for c in page.context.cookies() if c["name"] == "wsgiauth-reset-password"] == []  # used up
    wait_for_mail(smtp_server, EMAIL, "Your password has been changed")

    try_sign_in(page, EMAIL, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(WRONG)
    try_sign_in(page, EMAIL, NEW_PASSWORD)
    expect(page).to_have_url("/profile")

    assert open_link(page, live_server, mail, "/reset/").status == 410
    expect(page.get_by_text("This link has already been used")).to_be_visible()
    expect(page.get_by_label("New password")).to_have_count(0)
    expect(page.get_by_role("link", name="Send me a new link")).to_be_visible()
    assert [m["To"] for m in smtp_server.messages if m["Subject"] == "Reset your password"] == [EMAIL]


def test_account_settings_name_password_email_and_delete(new_page, smtp_server, live_server, live_user):
    page, elsewhere = new_page(), new_page()
    live_user()
    sign_in(page)
    try_sign_in(elsewhere, EMAIL, PASSWORD)  # the same person, in another browser
    expect(elsewhere).to_have_url("/profile")
    page.get_by_role("link", name="Account settings").click()
    expect(page).to_have_url("/account")

    # Name: a notice once, gone after a reload.
    fill(page, {"First name": "Augusta", "Last name": "King"}, within=form(page, "Name"))
    submit(page, "Enter")
    expect(page).to_have_url("/account")
    expect(notice(page)).to_have_text("Your name has been updated.")
    page.reload()
    expect(notice(page)).to_have_count(0)
    assert typed_values(page, "First name", "Last name") == {"First name": "Augusta", "Last name": "King"}

    # Password: the new one twice (access was confirmed by signing in a moment ago).
    password_form = form(page, "Password")
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD}, within=password_form)
    submit(page, "Change password")
    expect(notice(page)).to_have_text("Your password has been changed. "
                                      "Every other browser signed in to your account has been signed out.")
    elsewhere.reload()
    expect(elsewhere).to_have_url("/signin?next=/profile")
    page.reload()
    expect(page).to_have_url("/account")
    wait_for_mail(smtp_server, EMAIL, "Your password has been changed")

    # Email: only the link sent to the new address changes it.
    fill(page, {"New email address": NEW_EMAIL}, within=form(page, "Email address"))
    submit(page, "Enter")
    expect(notice(page)).to_have_text(f"We have sent a link to {NEW_EMAIL}. "
                                      "Your email address will change when you open it.")
    expect(page.get_by_text(f"You asked to change it to {NEW_EMAIL}")).to_be_visible()
    mail = wait_for_mail(smtp_server, NEW_EMAIL, "Confirm your new email address")
    open_link(page, live_server, mail, "/account/email/")
    expect(heading(page)).to_have_text("Email address changed")
    expect(notice(page)).to_have_text(f"Your account now uses {NEW_EMAIL}. Sign in with it from now on.")
    wait_for_mail(smtp_server, EMAIL, "Your email address has been changed")
    page.get_by_role("link", name="Back to your account").click()
    page.get_by_role("link", name="Back to your profile").click()
    expect(page.get_by_text(f"This is {NEW_EMAIL}'s profile page")).to_be_visible()
    expect(page.get_by_text("Augusta King")).to_be_visible()

    # Delete: the word DELETE, typed.
    page.get_by_role("link", name="Account settings").click()
    fill(page, {"Type DELETE to confirm": "DELETE"}, within=form(page, "Delete account"))
    submit(page, "Delete my account")
    expect(page).to_have_url("/")
    expect(notice(page)).to_have_text("Your account has been deleted.")
    assert nav_names(page) == SIGNED_OUT_NAV
    for email, password in [(EMAIL, PASSWORD), (NEW_EMAIL, NEW_PASSWORD)]:
        try_sign_in(page, email, password)
        expect(page.get_by_role("alert")).to_have_text(WRONG)


def test_confirm_access_before_a_password_change(page, live_server, live_user, live_query, smtp_server):
    live_user()
    sign_in(page)
    page.get_by_role("link", name="Account settings").click()
    expect(page).to_have_url("/account")
    # Ada reads and types for longer than the 10 minutes signing in gave her.
    password_form = form(page, "Password")
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD}, within=password_form)
    live_query("age_access_confirmations_for_tests", seconds=11 * 60)
    submit(page, "Change password")
    expect(heading(page)).to_have_text("Confirm access")
    expect(page.get_by_role("alert")).to_contain_text("nothing has changed yet")
    assert page_problems(page) == []
    fill(page, {"Password": "not my password"})
    submit(page, "Enter")
    assert field_errors(page) == {"Password": "That is not your password."}
    assert typed_values(page, "Password") == {"Password": ""}
    fill(page, {"Password": PASSWORD})
    submit(page, "Confirm")
    expect(page).to_have_url("/account#password")
    expect(notice(page)).to_have_text("Access confirmed. Please type the new password or the code again: "
                                      "they are never kept in a page.")
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD}, within=form(page, "Password"))
    submit(page, "Enter")
    expect(notice(page)).to_have_text("Your password has been changed. "
                                      "Every other browser signed in to your account has been signed out.")
    wait_for_mail(smtp_server, EMAIL, "Your password has been changed")

    # The settings page itself asks once the window is over, and comes back to it.
    live_query("age_access_confirmations_for_tests", seconds=11 * 60)
    page.get_by_role("link", name="Back to your profile").click()
    page.get_by_role("link", name="Account settings").click()
    expect(page).to_have_url("/confirm-access?next=/account")
    fill(page, {"Password": NEW_PASSWORD})
    submit(page, "Enter")
    expect(page).to_have_url("/account")


def every_account_page(page, smtp_server, live_server):
    """Walk through every page and state of the account lifecycle; yield (screenshot name, walk it by keyboard?)."""
    # A keyboard walk starts from the top of a freshly loaded page (no field
    # with an error has focus); pages the other tests walk already are skipped.
    page.goto("/forgot")
    yield "forgot", True
    submit(page, "Send the link")
    yield "forgot-errors", False
    fill(page, {"Email": EMAIL})
    submit(page, "Enter")
    yield "forgot-sent", True

    sign_up(page)
    mail = wait_for_mail(smtp_server, EMAIL, "Please confirm your email address")
    open_link(page, live_server, mail, "/confirm/")
    confirm = mailed_url(live_server, mail, "/confirm/")
    yield "confirm", True
    page.goto(confirm)
    yield "confirm-used", True

    page.goto("/account")
    yield "account", True
    fill(page, {"First name": ""})
    submit(page, "Save name")
    yield "account-name-errors", False
    fill(page, {"New email address": "ada@example"})
    submit(page, "Change email address")
    yield "account-email-errors", False
    fill(page, {"New password": "short", "New password again": "shorter"}, within=form(page, "Password"))
    submit(page, "Change password")
    yield "account-password-errors", False
    fill(page, {"Type DELETE to confirm": "delete"}, within=form(page, "Delete account"))
    submit(page, "Delete my account")
    yield "account-delete-errors", False
    page.goto("/confirm-access")
    yield "confirm-access", True
    fill(page, {"Password": "not my password"})
    submit(page, "Confirm")
    yield "confirm-access-errors", False
    page.goto("/account")
    fill(page, {"New email address": NEW_EMAIL}, within=form(page, "Email address"))
    submit(page, "Change email address")
    yield "account-notice", False
    mail = wait_for_mail(smtp_server, NEW_EMAIL, "Confirm your new email address")
    open_link(page, live_server, mail, "/account/email/")
    change = mailed_url(live_server, mail, "/account/email/")
    yield "email-changed", True
    page.goto(change)
    yield "email-change-used", True

    sign_out(page)
    page.goto(confirm)
    yield "confirm-used-signed-out", True
    page.goto("/forgot")
    fill(page, {"Email": NEW_EMAIL})
    submit(page, "Enter")
    mail = wait_for_mail(smtp_server, NEW_EMAIL, "Reset your password")
    open_link(page, live_server, mail, "/reset/")
    reset = mailed_url(live_server, mail, "/reset/")
    yield "reset", True
    fill(page, {"New password": NEW_PASSWORD, "New password again": "something else"})
    submit(page, "Enter")
    yield "reset-errors", False
    fill(page, {"New password": NEW_PASSWORD, "New password again": NEW_PASSWORD})
    submit(page, "Enter")
    yield "signin-password-changed", False
    page.goto(reset)
    yield "reset-used", True

    try_sign_in(page, NEW_EMAIL, NEW_PASSWORD)
    page.goto("/account")
    fill(page, {"Type DELETE to confirm": "DELETE"}, within=form(page, "Delete account"))
    submit(page, "Delete my account")
    yield "deleted", False


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_account_page_is_sound_at_each_width(new_page, screenshot, smtp_server, live_server, width):
    # Reduced motion: the skip link slides in, and focus is checked the moment it lands.
    page = new_page(width=width, reduced_motion="reduce")
    for name, keyboard in every_account_page(page, smtp_server, live_server):
        assert page_problems(page) == [], name
        screenshot(page, name)
        if keyboard and width == DESKTOP:
            check_keyboard_page(page)
