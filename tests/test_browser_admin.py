"""The admin area in a real Chromium: find a user, open them, lock and unlock them; by keyboard; on a phone."""

import pytest

from wsgiauth import accounts, create_app

from chromium import PHONE, expect
from conftest import TEST_PASSWORD_METHOD, TEST_SECRET_KEY
from person import (
    ADA,
    AUTOFOCUS_DONE_JS,
    DESCRIBE_JS,
    FOCUSABLE_JS,
    IPHONE,
    activate,
    fill,
    nav,
    page_problems,
    reading_order_problems,
    sign_in,
    submit,
    tab_through,
    tab_to,
    try_sign_in,
)

pytestmark = pytest.mark.browser

GRACE = {"firstname": "Grace", "lastname": "Hopper", "email": "grace@example.com", "password": "cobol forever"}
# An address, a name and a browser (unknown, so shown as sent) that do not fit a phone's line.
LONG_EMAIL = "maximiliane.wilhelmina.von-hohenzollern-sigmaringen@department-of-mathematics.example.org"
LONG_NAME = {"firstname": "Maximiliane Wilhelmina", "lastname": "von Hohenzollern-Sigmaringen"}
PROBE = "UptimeProbe/2.1;+https://status.example.com/probes/eu-west-1/a-very-long-identifier-0123456789"
LOCKED = "This account is locked. If you think this is a mistake, please write to us on the Contact page."
WRONG = "Invalid e-mail or password"
NO_SIDEWAYS_SCROLL_JS = "() => document.scrollingElement.scrollWidth <= innerWidth"
HEADING_LEVELS_JS = "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1])"


@pytest.fixture(scope="module")
def live_app(live_server_process):
    """An app on the module's live server's database, to do what an operator does (wsgiauth create-user --group)."""
    app = create_app({"DATABASE": live_server_process.database, "SECRET_KEY": TEST_SECRET_KEY,
                      "PASSWORD_METHOD": TEST_PASSWORD_METHOD})
    yield app
    app.db.close()


@pytest.fixture
def make_admin(live_app, live_server):
    """Return make(email=Ada's) -> uid: put the account in the group admin, as an operator would."""
    def make(email=ADA["Email"]):
        uid = live_app.db.one("user_uid_by_email", email=email)["uid"]
        live_app.db.transaction(lambda tx: accounts.add_to_group(live_app, tx, None, uid, accounts.ADMIN))
        return uid

    return make


def users_table(page):
    """Return the rows of the admin area's list of users."""
    return page.get_by_role("table", name="Users").locator("tbody tr")


def current_tab(page):
    """Return the names of the admin area's links marked as the current page."""
    return page.get_by_role("navigation", name="Admin").locator("[aria-current=page]").all_inner_texts()


def notice(page):
    """Return the one-shot notices in the main content."""
    return page.locator("main").get_by_role("status")


def check_keyboard_page(page):
    """Tab through the page: every control reached in reading order, each with a visible focus ring.

    As person.check_keyboard_page, but knowing two things browsers do: Tab stops once in a
    group of radio buttons (at the checked one), and at each part of a date field (month,
    day, year, its calendar button), all of which carry the field's name here.
    """
    def names(selector):
        """Return the names of the fields selector finds, as the walk names them."""
        return set(page.locator(selector).evaluate_all(f"fields => fields.map({DESCRIBE_JS})"))

    walk = tab_through(page)
    dates, unchecked = names("input[type=date]"), names("input[type=radio]:not(:checked)")
    unseen = [element for element in walk if not (element["outline"] and element["inViewport"])]
    assert not unseen, f"focus not visible on: {unseen}"
    walk = [element for element, before in zip(walk, [None, *walk])
            if not (before and element["name"] == before["name"] and element["name"] in dates)]
    stops = [element["name"] for element in walk]
    assert stops == [name for name in page.evaluate(FOCUSABLE_JS) if name not in unchecked], "Tab skips or adds"
    jumps = reading_order_problems(walk)
    assert not jumps, f"Tab order jumps against reading order: {jumps}"
    return stops


@pytest.mark.both_databases  # the name search on MariaDB's collation too
def test_an_admin_finds_locks_and_unlocks_a_user(new_page, live_user, make_admin):
    live_user(confirmed=True)
    make_admin()
    live_user(confirmed=True, **GRACE)
    live_user(firstname="Grace", lastname="Kelly", email="kelly@example.org")
    grace = new_page(user_agent=IPHONE)
    sign_in(grace, GRACE["email"], GRACE["password"])
    page = new_page()
    sign_in(page)

    # Found by the start of her name, as typed: one row, her email a link to her page.
    nav(page).get_by_role("link", name="Admin").click()
    expect(page).to_have_url("/admin")
    expect(users_table(page)).to_have_count(3)
    fill(page, {"Email or name starts with": "grace H"})
    page.get_by_label("Name", exact=True).check()
    submit(page, "Search")
    expect(users_table(page)).to_have_count(1)
    expect(users_table(page)).to_contain_text("Grace Hopper")
    page.get_by_role("link", name=GRACE["email"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.get_by_role("table", name="Active sessions").locator("tbody tr")).to_contain_text("Safari on iOS")

    submit(page, "Lock the account")
    expect(notice(page)).to_have_text(f"{GRACE['email']} is locked and has been signed out everywhere.")
    expect(page.locator("main dl")).to_contain_text("Locked since")
    expect(page.get_by_role("table", name="Active sessions")).to_contain_text("Not signed in anywhere.")
    # Her other browser is signed out at its next page; the lock shows only to the right password.
    grace.reload()
    expect(grace).to_have_url("/signin?next=/profile")
    try_sign_in(grace, GRACE["email"], "not her password")
    expect(grace.get_by_role("alert")).to_have_text(WRONG)
    try_sign_in(grace, GRACE["email"], GRACE["password"])
    expect(grace.get_by_role("alert")).to_have_text(LOCKED)

    # The list says "Locked" in words, not by colour alone.
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Users").click()
    expect(users_table(page).filter(has_text=GRACE["email"]).get_by_role("cell").last).to_have_text("Locked")
    page.get_by_role("link", name=GRACE["email"]).click()
    submit(page, "Unlock")
    expect(notice(page)).to_have_text(f"{GRACE['email']} is unlocked: its owner can sign in again.")
    try_sign_in(grace, GRACE["email"], GRACE["password"])
    expect(grace).to_have_url("/profile")


def test_the_admin_pages_work_by_keyboard(new_page, live_user, make_admin):
    live_user(confirmed=True)
    make_admin()
    live_user(confirmed=True, **GRACE)
    # Reduced motion: the skip link slides in, and focus is checked the moment it lands.
    page = new_page(reduced_motion="reduce")
    sign_in(page)

    # From the profile to Grace's page and her lock, with Tab and Enter only.
    page.goto("/profile")
    activate(page, "link:Admin")
    expect(page).to_have_url("/admin")
    tab_to(page, "field:Email or name starts with")
    page.keyboard.type("grace@")
    submit(page, "Enter")
    expect(users_table(page)).to_have_count(1)
    activate(page, f"link:{GRACE['email']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    activate(page, "button:Lock the account")
    expect(notice(page)).to_have_text(f"{GRACE['email']} is locked and has been signed out everywhere.")

    # A wrong group name: focus back on the field, its message tied to it; then a right one.
    tab_to(page, "field:Add to the group")
    page.keyboard.type("Staff!")
    submit(page, "Enter")
    assert page_problems(page) == []
    expect(page.get_by_label("Add to the group")).to_be_focused()
    assert current_tab(page) == ["Users"]
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("staff")
    submit(page, "Enter")
    expect(notice(page)).to_have_text(f"{GRACE['email']} is now in the group staff.")
    page.reload()  # Tab from the top of the page, as a person arriving on it
    names = check_keyboard_page(page)
    assert names.index("button:Remove") < names.index("button:Unlock") < names.index("button:Delete this account")
    assert current_tab(page) == ["Users"]
    activate(page, "button:Remove")
    expect(notice(page)).to_have_text(f"{GRACE['email']} is no longer in the group staff.")

    # Every other admin page: all of it reached by Tab, in reading order, focus always visible.
    for path, current in [("/admin", "Users"), ("/admin?q=nobody", "Users"), ("/admin/sessions", "Sessions"),
                          ("/admin/audit", "Audit trail")]:
        page.goto(path)
        check_keyboard_page(page)
        assert current_tab(page) == [current]
    # A filter that is wrong: the same.
    tab_to(page, "field:User number")
    page.keyboard.type("forty-two")
    submit(page, "Enter")
    assert page_problems(page) == []
    expect(page.get_by_label("User number")).to_be_focused()
    expect(page.get_by_label("User number")).to_have_accessible_description("A user number is digits only, like 42.")
    assert current_tab(page) == ["Audit trail"]


@pytest.mark.parametrize("width", [320, PHONE])
def test_the_admin_pages_fit_a_phone(new_page, live_user, make_admin, width):
    live_user(confirmed=True)
    make_admin()
    live_user(confirmed=True, email=LONG_EMAIL, **LONG_NAME)
    sign_in(new_page(width=width, user_agent=PROBE), LONG_EMAIL, ADA["Password"])
    page = new_page(width=width, user_agent=IPHONE)
    sign_in(page)
    page.goto("/admin")
    uid = page.get_by_role("link", name=LONG_EMAIL).get_attribute("href").rsplit("/", 1)[1]
    for path in ["/admin", f"/admin/users/{uid}", "/admin/audit", "/admin/audit?uid=x&from=2030-01-02&to=2030-01-01",
                 "/admin/sessions"]:
        page.goto(path)
        page.wait_for_function(AUTOFOCUS_DONE_JS)  # on the field with an error, a moment after loading
        assert page.evaluate(NO_SIDEWAYS_SCROLL_JS), path
        assert page_problems(page) == [], path
        levels = page.evaluate(HEADING_LEVELS_JS)  # in order: one h1 first, no level skipped
        assert levels[0] == 1 and all(after <= before + 1 for before, after in zip(levels, levels[1:])), path
    # On a phone each row of a table is a card: a label beside each value, no column headings shown.
    page.goto(f"/admin/users/{uid}")
    expect(page.get_by_role("table", name="Active sessions").locator("thead")).not_to_be_in_viewport()
    cell = page.get_by_role("table", name="Active sessions").get_by_role("cell").first
    assert page.evaluate("el => getComputedStyle(el, '::before').content", cell.element_handle()) == '"Browser"'
