"""Issue 17: a form with errors has a summary at the top linking to each field, "Error: " in the title, and
focus where the person goes on typing."""

import html
import re

from helpers import csrf_token_in


def text(response):
    """Return a response's text, with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def summary(page):
    """Return the error summary's (href, message) pairs, or None without a summary."""
    box = re.search(r'<div class="alert error-summary" role="alert"[^>]*>(.*?)</div>', page, re.S)
    if box is None:
        return None
    assert "<h2 id=\"error-summary-title\">There is a problem</h2>" in box.group(1)
    return re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', box.group(1))


def autofocused(page):
    """Return the ids of the fields with autofocus."""
    return re.findall(r'id="([^"]+)"[^>]*\sautofocus', page)


def test_signup_with_errors_has_the_summary_and_the_title(auth):
    response = auth.post_form("/signup", {"firstname": "", "lastname": "Lovelace", "email": "not an email",
                                          "password": "short"})
    page = text(response)
    assert "<title>Error: Sign Up · wsgiauth</title>" in page
    links = summary(page)
    assert [href for href, _ in links] == ["#firstname", "#email", "#password"]  # page order
    for href, message in links:  # each message is the one under its field
        assert f'<p class="error" id="{href[1:]}-error">{message}</p>' in page
    assert autofocused(page) == ["firstname"]


def test_pages_without_errors_have_no_summary_and_a_plain_title(client):
    for path, title in [("/signup", "Sign Up"), ("/signin", "Sign In"), ("/contact", "Contact"),
                        ("/forgot", "Forgot your password?")]:
        page = text(client.get(path))
        assert summary(page) is None and f"<title>{title} · wsgiauth</title>" in page


def test_failed_signin_focuses_the_password_when_the_email_is_there(auth, make_user):
    make_user()
    page = text(auth.signin(password="wrong password"))
    assert "<title>Error: Sign In · wsgiauth</title>" in page
    assert autofocused(page) == ["password"]
    assert 'value="ada@example.com"' in page


def test_signin_with_the_email_missing_focuses_the_email(auth):
    page = text(auth.post_form("/signin", {"email": "", "password": "whatever"}))
    assert autofocused(page) == ["email"]
    assert [href for href, _ in summary(page)] == ["#email"]


def test_contact_and_forgot_errors_are_summarised(client):
    page = text(client.get("/contact"))
    page = text(client.post("/contact", data={"csrf_token": csrf_token_in(page, "/contact"), "name": "Zoe",
                                              "email": "zoe@example.com", "subject": "", "message": ""}))
    assert [href for href, _ in summary(page)] == ["#subject", "#message"]
    assert page.count("<title>Error: Contact") == 1
    page = text(client.get("/forgot"))
    page = text(client.post("/forgot", data={"csrf_token": csrf_token_in(page, "/forgot"), "email": "nope"}))
    assert [href for href, _ in summary(page)] == ["#email"]
