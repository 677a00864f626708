"""Every page in a real Chromium: sound structure, no console or CSP errors, and screenshots to look at."""

import pytest
from test_browser_admin import LONG_EMAIL, LONG_NAME, PROBE, live_app, make_admin  # noqa: F401 (fixtures)

from wsgiauth.views.admin import PAGE

from chromium import DESKTOP, PHONE, expect
from person import ADA, IPHONE, fill, nav, page_problems, sign_in, sign_out, sign_up, submit

pytestmark = pytest.mark.browser

CONTACT = {"Name": "Zoë Łukasiewicz", "Email": "zoe@example.com", "Subject": "A question",
           "Message": "Hello!\nHow do I keep my sessions short?"}


def every_page(page, new_page, live_user, make_admin):
    """Walk to every page of the site; yield (screenshot name, page kind) as each is shown."""
    page.goto("/")
    yield "home", "home"
    page.goto("/about")
    yield "about", "about"
    page.goto("/contact")
    yield "contact", "contact"
    submit(page, "Send")
    yield "contact-errors", "contact"
    fill(page, CONTACT)
    submit(page, "Send")
    yield "contact-sent", "contact"
    page.goto("/signup")
    yield "signup", "signup"
    submit(page, "Create account")
    yield "signup-errors", "signup"
    page.goto("/signin")
    yield "signin", "signin"
    fill(page, {"Email": "nobody@example.com", "Password": "wrong password"})
    submit(page, "Sign In")
    yield "signin-failed", "signin"
    page.goto("/signout")
    yield "signout-signed-out", "signout"
    assert page.goto("/no-such-page").status == 404
    yield "404", "404"
    sign_up(page)
    yield "profile", "profile"
    # Signed in on a phone too: the security page lists both sessions and the sign-in.
    sign_in(new_page(width=PHONE, user_agent=IPHONE))
    page.goto("/security")
    expect(page.get_by_role("table", name="Where you're signed in").locator("tbody tr")).to_have_count(2)
    yield "security-two-sessions", "security"
    page.goto("/contact")
    yield "contact-signed-in", "contact"
    page.goto("/")
    yield "home-signed-in", "home"
    yield from every_admin_page(page, new_page, live_user, make_admin)
    page.goto("/signout")
    yield "signout", "signout"
    sign_out(page)


def every_admin_page(page, new_page, live_user, make_admin):
    """Ada, an administrator now, walks the admin area; yield (screenshot name, page kind) as each is shown."""
    make_admin()
    # An address and a browser's name too long for a phone's line, signed in.
    live_user(confirmed=True, email=LONG_EMAIL, **LONG_NAME)
    sign_in(new_page(user_agent=PROBE), LONG_EMAIL, ADA["Password"])
    admin = page.get_by_role("navigation", name="Admin")
    page.reload()  # the navigation has an Admin link now
    nav(page).get_by_role("link", name="Admin").click()
    page.get_by_role("link", name=LONG_EMAIL).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("{firstname} {lastname}".format(**LONG_NAME))
    yield "admin-user", "admin-user"
    submit(page, "Lock the account")
    yield "admin-user-locked", "admin-user"
    fill(page, {"Add to the group": "Not a group!"})
    submit(page, "Add")
    yield "admin-user-errors", "admin-user"
    admin.get_by_role("link", name="Users").click()
    expect(page).to_have_url("/admin")
    expect(page.get_by_text("Locked", exact=True)).to_be_visible()
    yield "admin-users", "admin-users"
    fill(page, {"Email or name starts with": "nobody"})
    submit(page, "Search")
    yield "admin-users-none", "admin-users"
    for n in range(PAGE):  # more users than a page holds
        live_user(email=f"user{n:02}@example.com", firstname="User", lastname=f"Number {n}")
    page.goto("/admin")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    yield "admin-users-page-2", "admin-users"
    admin.get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url("/admin/audit")
    yield "admin-audit", "admin-audit"
    fill(page, {"User number": "forty-two"})
    page.get_by_label("From (day, UTC)").fill("2030-01-02")  # an ISO date (typing goes by month, day, year)
    page.get_by_label("To (day, UTC, included)").fill("2030-01-01")
    submit(page, "Filter")
    yield "admin-audit-errors", "admin-audit"
    admin.get_by_role("link", name="Sessions").click()
    expect(page).to_have_url("/admin/sessions")
    yield "admin-sessions", "admin-sessions"
    fill(page, {"Type EVERYONE to confirm": "everyone"})  # a slip: nobody is signed out
    submit(page, "Sign out everyone")
    yield "admin-sessions-errors", "admin-sessions"
    page.goto("/account#data")
    yield "account-data", "account"


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_page_is_sound_at_each_width(new_page, live_user, make_admin, screenshot, width):
    page = new_page(width=width)
    titles = {}
    for name, kind in every_page(page, new_page, live_user, make_admin):
        assert page_problems(page) == [], name
        # A form with errors is titled "Error: ..." (issue 17), the same page otherwise.
        titles.setdefault(kind, set()).add(page.title().removeprefix("Error: "))
        screenshot(page, name)
    assert all(len(found) == 1 for found in titles.values()), titles
    assert len({title for found in titles.values() for title in found}) == len(titles), "titles repeat"


def test_the_watch_reports_csp_violations(page, browser_problems):
    page.goto("/")
    expect(nav(page)).to_be_visible()
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
    with page.expect_console_message(lambda message: message.type == "error"):
        page.evaluate("document.body.append(Object.assign(document.createElement('script'), {text: '1'}))")
    csp = [problem for problem in browser_problems if "Content Security Policy" in problem]
    assert len(csp) == 2 and "inline style" in csp[0] and "script" in csp[1], browser_problems
    browser_problems.clear()  # seen, so the page fixture does not fail the test for them
