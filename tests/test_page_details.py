"""Issue 17: one banner on the first profile view after sign-up; a meta description on the public pages."""

import html
import re


def text(response):
    """Return a response's text, with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def banners(page):
    """Return the notice and warning boxes of a page's main part."""
    main = page.split('<main', 1)[1].split("</main>", 1)[0]
    return re.findall(r'<div class="(?:notice|warning)" role="status">.*?</div>', main, re.S)


def test_the_first_profile_view_after_sign_up_has_one_banner(auth, client):
    assert auth.signup().headers["Location"] == "/profile"
    page = text(client.get("/profile"))
    [box] = banners(page)
    assert "Welcome, Ada! We have sent a link to ada@example.com" in box
    assert "Send the link again" in box
    # Once the notice is used up, the box says it in its own words.
    [box] = banners(text(client.get("/profile")))
    assert "Your email address is not confirmed yet" in box


def test_public_pages_have_a_meta_description_and_private_ones_none(client, signed_in):
    for path in ("/", "/about", "/contact"):
        assert re.search(r'<meta name="description" content="[^"]{20,}">', text(client.get(path))), path
    assert '<meta name="description"' not in text(client.get("/profile"))
    signed_in.signout()
    for path in ("/signup", "/signin"):
        assert re.search(r'<meta name="description" content="[^"]{20,}">', text(client.get(path))), path
