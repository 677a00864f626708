"""Sessions in a real Chromium: "Keep me signed in" across a browser restart, and "Sign out everywhere else"."""

import pytest

from chromium import PHONE, expect
from person import IPHONE, SIGNED_IN_NAV, SIGNED_OUT_NAV, nav_names, sign_in, submit

pytestmark = pytest.mark.browser


def after_restart(new_page, page, keep_everything=False):
    """Return a page in a new context holding what the browser of page keeps across a restart."""
    state = page.context.storage_state()
    if not keep_everything:
        # Playwright's storage state keeps session cookies too (expires -1);
        # a browser that restarts forgets them and keeps only those with an expiry.
        state["cookies"] = [cookie for cookie in state["cookies"] if cookie["expires"] > 0]
    return new_page(storage_state=state)


def sessions_table(page):
    """Return the rows of the sign-in security page's "Where you're signed in" table, one per session."""
    return page.get_by_role("table", name="Where you're signed in").locator("tbody tr")


def test_keep_me_signed_in_survives_a_browser_restart_only_when_ticked(page, new_page, live_user):
    live_user()
    sign_in(page)  # "Keep me signed in" left unticked
    # Without the restart the same cookies are still signed in: the restart is what ends it.
    same_browser = after_restart(new_page, page, keep_everything=True)
    same_browser.goto("/profile")
    expect(same_browser).to_have_url("/profile")
    restarted = after_restart(new_page, page)
    restarted.goto("/profile")
    expect(restarted).to_have_url("/signin?next=/profile")
    assert nav_names(restarted) == SIGNED_OUT_NAV

    ticked = new_page()
    sign_in(ticked, remember=True)
    restarted = after_restart(new_page, ticked)
    restarted.goto("/profile")
    expect(restarted).to_have_url("/profile")
    expect(restarted.get_by_text("This is ada@example.com's profile page")).to_be_visible()
    assert nav_names(restarted) == SIGNED_IN_NAV


def test_sign_out_everywhere_else_from_the_security_page(new_page, live_user):
    live_user()
    laptop = new_page()
    sign_in(laptop)
    phone = new_page(width=PHONE, user_agent=IPHONE)
    sign_in(phone)

    laptop.get_by_role("link", name="Sign-in security").click()  # from the profile, where sign-in landed
    expect(laptop).to_have_url("/security")
    expect(sessions_table(laptop)).to_have_count(2)
    expect(sessions_table(laptop).filter(has_text="(this browser)")).to_contain_text("Chrome on Linux")
    expect(sessions_table(laptop).filter(has_not_text="(this browser)")).to_contain_text("Safari on iOS")
    submit(laptop, "Sign out everywhere else")
    expect(laptop).to_have_url("/security")
    expect(sessions_table(laptop)).to_have_count(1)
    expect(sessions_table(laptop)).to_contain_text("Chrome on Linux (this browser)")
    expect(laptop.get_by_text("You are signed in only in this browser.")).to_be_visible()
    expect(laptop.get_by_role("button", name="Sign out everywhere else")).to_have_count(0)

    phone.reload()  # its next page load
    expect(phone).to_have_url("/signin?next=/profile")
    assert nav_names(phone) == SIGNED_OUT_NAV

    laptop.goto("/")
    assert nav_names(laptop) == SIGNED_IN_NAV
    laptop.goto("/security")
    expect(sessions_table(laptop)).to_have_count(1)
