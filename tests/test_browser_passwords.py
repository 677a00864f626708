"""Password fields in a real Chromium: "Show password" (ASVS 2.1.12), the strength meter (2.1.8),
common passwords refused (2.1.7), and the forms still working without JavaScript."""

import email
import re

import pytest

from chromium import DESKTOP, PHONE, expect
from person import ADA, fill, focused, page_problems, sign_in, submit, tab_to

pytestmark = pytest.mark.browser

SHOW = "button:Show password"
ADVICE = " (15 characters or more make it strong)"
COMMON = "This password is too common. Please choose another."


def toggle_of(page, label):
    """Return the "Show password" button that controls the field labelled label."""
    field_id = page.get_by_label(label, exact=True).get_attribute("id")
    return page.locator(f'button[aria-controls="{field_id}"]')


def field_state(page, label):
    """Return (input type, the toggle's aria-pressed, what the field holds) of a password field."""
    field = page.get_by_label(label, exact=True)
    return field.get_attribute("type"), toggle_of(page, label).get_attribute("aria-pressed"), field.input_value()


def toggles(page):
    """Return {id of the field: its toggle's text} for every "Show password" button, in page order."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('button.reveal')]
        .map(b => [b.getAttribute('aria-controls'), b.innerText.trim()]))""")


def shown(page):
    """Return the ids of the password fields that show their text now."""
    return page.evaluate("() => [...document.querySelectorAll('.password-input input[type=text]')].map(f => f.id)")


def meters(page):
    """Return the ids of the fields that have a strength meter, in page order."""
    return page.evaluate("""() => [...document.querySelectorAll('.field')]
        .filter(f => f.querySelector('meter')).map(f => f.querySelector('input').id)""")


def strength(page, field_id="password"):
    """Return (the meter's value, None while it is not shown; the words a screen reader hears) for field_id."""
    return page.evaluate("""id => {
        const meter = document.querySelector(`#${id}`).closest('.field').querySelector('meter');
        return [meter.checkVisibility() ? meter.value : null, document.getElementById(id + '-strength').innerText];
    }""", field_id)


def test_v2_1_12_show_password_by_click_and_by_keyboard(page):
    page.goto("/signup")
    button = toggle_of(page, "Password")
    assert button.evaluate("b => [b.tagName, b.type, b.getAttribute('aria-controls')]") == ["BUTTON", "button",
                                                                                           "password"]
    fill(page, {"Password": "correct horse"})
    assert field_state(page, "Password") == ("password", "false", "correct horse")
    expect(button).to_have_text("Show password")
    button.click()
    # The label and aria-pressed follow the state: a screen reader and a sighted person hear and see the same.
    assert field_state(page, "Password") == ("text", "true", "correct horse")
    expect(page.get_by_role("button", name="Hide password", pressed=True)).to_be_visible()
    button.click()
    assert field_state(page, "Password") == ("password", "false", "correct horse")
    expect(page.get_by_role("button", name="Show password", pressed=False)).to_be_visible()

    # By keyboard: Tab from the field lands on its toggle, with a visible focus ring.
    page.get_by_label("Password", exact=True).focus()
    page.keyboard.press("Tab")
    assert focused(page)["name"] == SHOW and focused(page)["outline"]
    page.keyboard.press("Space")
    assert field_state(page, "Password") == ("text", "true", "correct horse")
    assert focused(page)["name"] == "button:Hide password"  # focus stays on the button as its label changes
    page.keyboard.press("Enter")  # a type=button: toggles, never submits the form
    assert field_state(page, "Password") == ("password", "false", "correct horse")
    assert focused(page)["name"] == SHOW
    expect(page).to_have_url("/signup")
    field = page.get_by_label("Password", exact=True)
    assert (field.get_attribute("autocomplete"), field.get_attribute("minlength")) == ("new-password", "8")
    assert page_problems(page) == []


def test_v2_1_12_a_shown_password_is_masked_again_when_the_form_is_sent(page):
    page.goto("/signup")
    fill(page, {"Password": "correct horse"})
    toggle_of(page, "Password").click()
    # Listens after passwords.js, then keeps the form here to look at what it would send.
    page.evaluate("""() => document.getElementById('password').form.addEventListener('submit', event => {
        event.preventDefault();
        window.typeWhenSent = document.getElementById('password').type;
    })""")
    page.get_by_role("button", name="Create account").click()
    assert page.evaluate("window.typeWhenSent") == "password"
    assert field_state(page, "Password") == ("password", "false", "correct horse")
    expect(toggle_of(page, "Password")).to_have_text("Show password")


def test_v2_1_8_the_meter_follows_what_a_person_types_and_never_blocks(page):
    page.goto("/signup")
    field = page.get_by_label("Password", exact=True)
    assert field.get_attribute("aria-describedby") == "password-hint password-strength"
    assert page.locator("#password-strength").get_attribute("aria-live") == "polite"
    assert strength(page) == [None, ""]  # nothing to judge yet
    field.click()
    seen = []
    for text in ["abc", "defgh", "1!", "ijkl", "m"]:  # 3, 8, 10 (three kinds), 14, 15 characters
        page.keyboard.type(text)
        seen.append(strength(page))
    # 8 is the minimum, 15 the recommendation (ASVS 5.0 6.2.1): only 15 or more is "Strong".
    assert seen == [[1, "Password strength: Too short"], [2, "Password strength: Weak" + ADVICE],
                    [3, "Password strength: Fair" + ADVICE], [3, "Password strength: Fair" + ADVICE],
                    [4, "Password strength: Strong"]]
    for _ in range(20):
        page.keyboard.press("Backspace")
    assert strength(page) == [None, ""]

    # "Too short" is advice: the form is still sent, and the server says what is wrong.
    fill(page, {**ADA, "Password": "short"})
    assert strength(page) == [1, "Password strength: Too short"]
    submit(page, "Create account")
    expect(page.locator("#password-error")).to_have_text("Password must be at least 8 characters.")
    assert strength(page) == [None, ""] and page_problems(page) == []


def test_v2_1_7_a_common_password_is_refused_whatever_the_meter_says(page):
    page.goto("/signup")
    fill(page, {**ADA, "Password": "Password123"})  # upper and lower case, digits: "Fair" by the rules
    assert strength(page) == [3, "Password strength: Fair" + ADVICE]
    submit(page, "Enter")
    expect(page).to_have_url("/signup")
    expect(page.locator("#password-error")).to_have_text(COMMON)
    assert page_problems(page) == []  # focus on the refused field, its message under it
    fill(page, {"Password": "correct horse battery"})
    submit(page, "Enter")
    expect(page).to_have_url("/profile")


def test_every_password_field_has_a_toggle_and_each_new_one_a_meter(new_page, live_server_process, live_user,
                                                                   screenshot):
    live_user()
    page = new_page()
    page.goto("/signin")
    assert toggles(page) == {"password": "Show password"} and meters(page) == []
    # Password managers file the password under the email (autocomplete="username").
    assert page.get_by_label("Email", exact=True).get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password", exact=True).get_attribute("minlength") is None  # not a new password
    assert page_problems(page) == []
    sign_in(page)
    page.goto("/account")
    assert toggles(page) == {name: "Show password" for name in ["new_password", "new_password2"]}
    assert meters(page) == ["new_password"]
    fill(page, {"New password": "a brand new password"})
    toggle_of(page, "New password").click()
    assert shown(page) == ["new_password"]  # its own field only
    assert strength(page, "new_password") == [4, "Password strength: Strong"]
    # The hidden username field for password managers has no label by design;
    # page_problems (tests/person.py) leaves out fields nobody can see.
    assert page_problems(page) == []
    screenshot(page, "account-passwords")
    page.goto("/confirm-access")
    assert toggles(page) == {"password": "Show password"} and meters(page) == []
    assert page_problems(page) == []

    page.goto("/forgot")
    fill(page, {"Email": "ada@example.com"})
    submit(page, "Enter")
    page.goto(reset_path(page, live_server_process.folder))
    assert toggles(page) == {"password": "Show password", "password2": "Show password"}
    assert meters(page) == ["password"]
    # The account the new password belongs to, for password managers, as on /account.
    username = page.locator('form input[autocomplete="username"]')
    assert (username.get_attribute("type"), username.input_value(), username.is_hidden()) == (
        "email", "ada@example.com", True)
    assert [page.get_by_label(label, exact=True).get_attribute("minlength")
            for label in ("New password", "New password again")] == ["8", "8"]
    assert page_problems(page) == []


def reset_path(page, folder):
    """Return the path of the reset link in the mail serve.py (run in folder) writes to its outbox after answering."""
    for _ in range(50):
        for eml in (folder / "instance" / "outbox").glob("*.eml"):
            body = email.message_from_bytes(eml.read_bytes()).get_payload(decode=True).decode()
            link = re.search(r"https?://[^/\s]+(/reset/\S+)", body)
            if link:
                return link.group(1)
        page.wait_for_timeout(100)
    raise AssertionError("no reset email in the outbox")


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_sign_up_with_the_meter_and_a_shown_password_at_each_width(new_page, screenshot, width):
    page = new_page(width=width)
    page.goto("/signup")
    fill(page, ADA)
    assert strength(page) == [3, "Password strength: Fair" + ADVICE]
    assert page_problems(page) == []  # nothing sideways at 375 px, every field labelled
    screenshot(page, "signup-meter")
    tab_to(page, SHOW)
    page.keyboard.press("Space")
    assert field_state(page, "Password") == ("text", "true", "correct horse")
    expect(toggle_of(page, "Password")).to_have_text("Hide password")
    # The button never squeezes the field: at 375 px only "Hide" is seen (its name stays
    # "Hide password"), so the field keeps three quarters of the width for a long password.
    expect(page.get_by_role("button", name="Hide password", pressed=True)).to_be_visible()
    field = page.get_by_label("Password", exact=True).bounding_box()
    box = page.locator(".password-input").bounding_box()
    button = toggle_of(page, "Password").bounding_box()
    assert button["y"] == field["y"] and field["width"] >= box["width"] * (0.75 if width == PHONE else 0.7)
    assert page_problems(page) == []
    screenshot(page, "signup-password-shown")


def test_without_javascript_the_forms_work_and_show_no_controls(new_page):
    page = new_page(java_script_enabled=False)
    page.goto("/signup")
    expect(page.locator("button.reveal, meter")).to_have_count(0)
    fill(page, ADA)
    submit(page, "Create account")
    expect(page).to_have_url("/profile")
