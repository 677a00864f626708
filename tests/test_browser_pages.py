"""Every page in a real Chromium: sound structure, no console or CSP errors, and screenshots to look at."""

import pytest

from chromium import DESKTOP, PHONE, expect
from person import IPHONE, fill, nav, page_problems, sign_in, sign_out, sign_up, submit

pytestmark = pytest.mark.browser

CONTACT = {"Name": "Zoë Łukasiewicz", "Email": "zoe@example.com", "Subject": "A question",
           "Message": "Hello!\nHow do I keep my sessions short?"}


def every_page(page, new_page):
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
    page.goto("/signout")
    yield "signout", "signout"
    sign_out(page)


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_page_is_sound_at_each_width(new_page, screenshot, width):
    page = new_page(width=width)
    titles = {}
    for name, kind in every_page(page, new_page):
        assert page_problems(page) == [], name
        titles.setdefault(kind, set()).add(page.title())
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
