"""The authenticator app in a real Chromium: set it up reading the key off the page, then sign in with a code and
with a recovery code."""

import pytest

from wsgiauth import totp

from chromium import expect
from person import current_code, fill, page_problems, sign_in, sign_out, submit, try_sign_in

pytestmark = pytest.mark.browser


def test_set_up_the_app_then_sign_in_with_a_code_and_with_a_recovery_code(page, live_user):
    live_user()
    sign_in(page)
    page.get_by_role("link", name="Sign-in security").click()
    submit(page, "Set up an authenticator app")
    expect(page).to_have_url("/security/app")
    assert page_problems(page) == []
    expect(page.locator(".qr svg")).to_be_visible()  # what a phone scans
    # Or what a person types into the app: the key, in groups of four.
    key = totp.decode_key(page.get_by_label("The key, in groups of four characters").inner_text().replace(" ", ""))
    link = page.get_by_role("link", name="open this link").get_attribute("href")
    assert link.startswith("otpauth://totp/wsgiauth:ada@example.com?secret=")
    used = set()
    fill(page, {"Code from the app": current_code(key, used)})
    submit(page, "Turn on")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "The authenticator app is on. Save your recovery codes")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # the clipboard, beside the download
    download = page.get_by_role("link", name="Download as a text file")
    with page.expect_download() as saved:
        download.click()
    with open(saved.value.path(), encoding="utf-8") as text:
        assert codes[0] in text.read()
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 of your recovery codes are left.")).to_be_visible()
    sign_out(page)

    try_sign_in(page, "ada@example.com", "correct horse")
    expect(page).to_have_url("/signin/code")
    assert page_problems(page) == []
    fill(page, {"Code": current_code(key, used)})
    submit(page, "Sign In")
    expect(page).to_have_url("/profile")
    sign_out(page)

    try_sign_in(page, "ada@example.com", "correct horse")
    fill(page, {"Code": codes[0]})
    submit(page, "Sign In")
    expect(page).to_have_url("/profile")
    page.goto("/security")
    expect(page.get_by_text("9 of your recovery codes are left.")).to_be_visible()
    expect(page.get_by_role("table", name="Recent sign-ins").locator("tbody tr").first).to_contain_text(
        "Password + recovery code")
