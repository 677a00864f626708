"""Forced colours and reflow: an error differs from a hint without colour; 320 px pages never scroll sideways."""

import pytest

from person import fill, page_problems, sign_up, submit

pytestmark = pytest.mark.browser

LOOK = """() => {
  const style = (el, pseudo) => getComputedStyle(el, pseudo || null);
  const invalid = document.querySelector('[aria-invalid="true"]');
  const valid = document.querySelector('input:not([aria-invalid]):not([type="hidden"]):not([type="checkbox"])');
  const error = document.querySelector('.error'), hint = document.querySelector('.hint');
  return {invalid: style(invalid).borderTopWidth, valid: style(valid).borderTopWidth,
          mark: style(error, '::before').content, hintMark: style(hint, '::before').content,
          errorColour: style(error).color, hintColour: style(hint).color};
}"""


def test_an_error_and_an_invalid_field_are_told_apart_without_colour(new_page):
    page = new_page(forced_colors="active")
    page.goto("/signup")
    fill(page, {"First name": "Ada", "Last name": "Lovelace", "Email": "not an address"})
    submit(page, "Create account")
    look = page.evaluate(LOOK)
    # The theme paints error and hint alike; the sign and the border still differ.
    assert look["errorColour"] == look["hintColour"], look
    assert look["mark"].startswith('"⚠') and look["hintMark"] == "none", look
    assert look["invalid"] == "3px" and look["valid"] != "3px", look


def test_the_profile_and_security_pages_fit_320_px_at_400_percent_zoom(new_page):
    # WCAG 1.4.10 Reflow (issue 17): 1280 px at 400 % zoom is a 320 px
    # viewport; nothing may scroll sideways, long timestamps wrap.
    page = new_page(width=320, height=640)
    sign_up(page, **{"Email": "a.rather.long.address.for.a.narrow.screen@example.com"})
    for path in ("/profile", "/security"):
        page.goto(path)
        assert page_problems(page) == [], path
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), path
