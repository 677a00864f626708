"""Journeys through the site in a real Chromium, as a person makes them: typing, clicking, Tab and Enter."""

import pytest

from chromium import expect
from person import (
    ADA,
    SIGNED_IN_NAV,
    SIGNED_OUT_NAV,
    activate,
    check_errors,
    check_keyboard_page,
    fill,
    focused,
    nav_names,
    sign_in,
    sign_out,
    submit,
    tab_to,
    typed_values,
)

pytestmark = pytest.mark.browser

HEADER = ["link:Skip to content", "link:wsgiauth", "link:Home", "link:About", "link:Contact"]
FOOTER = ["link:How it works"]


def test_sign_up_with_mistakes_first_then_land_on_the_profile(page):
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url("/signup")
    autocomplete = {label: page.get_by_label(label, exact=True).get_attribute("autocomplete") for label in ADA}
    assert autocomplete == {"First name": "given-name", "Last name": "family-name", "Email": "email",
                            "Password": "new-password"}

    submit(page, "Create account")  # nothing typed yet
    check_errors(page, {  # each message next to its field, focus on the first
        "First name": "Please enter your first name.",
        "Last name": "Please enter your last name.",
        "Email": "Please enter your email address.",
        "Password": "Please enter a password.",
    })

    fill(page, {**ADA, "Email": "ada@example", "Password": "short"})
    submit(page, "Enter")
    check_errors(page, {"Email": "Please enter your email address.",
                        "Password": "Password must be at least 8 characters."})
    assert typed_values(page, *ADA) == {"First name": "Ada", "Last name": "Lovelace", "Email": "ada@example",
                                        "Password": ""}

    fill(page, {"Email": "ada@example.com", "Password": "correct horse"})
    submit(page, "Enter")
    expect(page).to_have_url("/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Profile")
    expect(page.get_by_text("This is ada@example.com's profile page")).to_be_visible()
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    assert nav_names(page) == SIGNED_IN_NAV


def test_sign_out_from_the_nav_and_back_shows_no_profile(page, live_user):
    live_user()
    sign_in(page)
    sign_out(page)
    assert nav_names(page) == SIGNED_OUT_NAV
    # Back returns to the profile's place in history: it must be asked for
    # again (Cache-Control: no-store), and the server now sends it to sign in.
    page.go_back()
    expect(page).to_have_url("/signin?next=/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    expect(page.get_by_text("ada@example.com")).to_have_count(0)
    page.goto("/profile")
    expect(page).to_have_url("/signin?next=/profile")
    assert nav_names(page) == SIGNED_OUT_NAV


def test_sign_in_with_a_wrong_password_then_the_right_one(page, live_user):
    live_user()
    page.goto("/")
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign In")
    nav_link.click()
    expect(page).to_have_url("/signin")
    assert page.get_by_label("Password").get_attribute("autocomplete") == "current-password"

    fill(page, {"Email": "ada@example.com", "Password": "wrong password"})
    submit(page, "Enter")
    expect(page).to_have_url("/signin")
    expect(page.get_by_role("alert")).to_have_text("Invalid e-mail or password")
    assert typed_values(page, "Email", "Password") == {"Email": "ada@example.com", "Password": ""}
    assert focused(page)["name"] == "field:Password"  # the email is there: on with the password (issue 17)
    assert nav_names(page) == SIGNED_OUT_NAV

    fill(page, {"Password": "correct horse"})
    submit(page, "Sign In")
    expect(page).to_have_url("/profile")
    assert nav_names(page) == SIGNED_IN_NAV


def test_the_whole_site_by_keyboard_alone(new_page):
    # Reduced motion: the skip link slides in, and focus is checked the moment it lands.
    page = new_page(reduced_motion="reduce")
    page.goto("/")
    signed_out = HEADER + ["link:Sign Up", "link:Sign In"]
    assert check_keyboard_page(page) == signed_out + ["link:Create an account", "link:Sign in"] + FOOTER
    activate_skip_link(page)

    activate(page, "link:Contact")  # the honeypot field is not in the Tab order
    assert check_keyboard_page(page) == signed_out + [
        "field:Name", "field:Email", "field:Subject", "field:Message", "button:Send"] + FOOTER
    activate(page, "button:Send")  # Enter on the button, nothing typed
    assert focused(page)["name"] == "field:Name" and focused(page)["outline"]

    activate(page, "link:Sign Up")
    assert check_keyboard_page(page) == signed_out + [
        "field:First name", "field:Last name", "field:Email", "field:Password", "button:Show password",
        "button:Create account",
        "link:Already have an account? Sign in"] + FOOTER
    activate(page, "button:Create account")  # Enter on the button, nothing typed
    assert focused(page)["name"] == "field:First name" and focused(page)["outline"]
    for text in ["Ada", "Lovelace", "ada@example.com"]:
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    page.keyboard.type("correct horse")
    submit(page, "Enter")
    expect(page).to_have_url("/profile")

    signed_in = HEADER + ["link:Profile", "button:Sign Out"]
    # The address is not confirmed yet: the profile offers the link again.
    assert check_keyboard_page(page) == signed_in + [
        "button:Send the link again", "link:Account settings", "link:Sign-in security"] + FOOTER
    activate(page, "link:About")
    assert check_keyboard_page(page) == signed_in + FOOTER
    activate(page, "button:Sign Out")
    expect(page).to_have_url("/")

    activate(page, "link:Sign In")
    assert check_keyboard_page(page) == signed_out + [
        "field:Email", "field:Password", "button:Show password", "field:Keep me signed in", "button:Sign In",
        "link:Forgot your password?",
        "link:No account yet? Sign up"] + FOOTER
    tab_to(page, "field:Email")
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse")
    submit(page, "Enter")
    expect(page).to_have_url("/profile")

    page.goto("/signout")  # reached by address only
    assert check_keyboard_page(page) == signed_in + ["button:Sign Out"] + FOOTER
    page.goto("/no-such-page")
    assert check_keyboard_page(page) == signed_in + ["link:Go to the home page", "link:Your profile"] + FOOTER


def activate_skip_link(page):
    """Press Enter on the skip link: focus moves to the content, past the navigation."""
    page.goto("/")
    tab_to(page, "link:Skip to content")
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "main#main"
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "link:Create an account"
