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


def assert_summarised(page, title, fields):
    """Check a page with form errors: "Error: " in its title, and a summary linking fields, each with its message."""
    assert f"<title>Error: {title} · wsgiauth</title>" in page
    links = summary(page)
    assert [href for href, _ in links] == [f"#{name}" for name in fields]
    for href, message in links:  # each message is the one under its field
        assert f'<p class="error" id="{href[1:]}-error">{message}</p>' in page
    assert autofocused(page) == fields[:1]


def test_the_new_password_form_of_a_reset_link_has_the_summary_and_the_title(ada, new_browser, smtp_server):
    from test_reset import ask, choose, reset_link
    ask(new_browser())
    link = reset_link(smtp_server)
    stranger = new_browser()
    page = text(stranger.open_link(link))
    assert summary(page) is None and "<title>Choose a new password · wsgiauth</title>" in page
    assert_summarised(text(choose(stranger, link, password="short")), "Choose a new password", ["password"])
    mismatch = text(choose(stranger, link, password="a brand new password", again="another one"))
    assert_summarised(mismatch, "Choose a new password", ["password2"])
    assert summary(mismatch) == [("#password2", "The two passwords do not match.")]


def test_the_account_and_confirm_access_forms_have_the_summary_and_the_title(signed_in, clock):
    name = signed_in.post_form("/account/name", {"firstname": "", "lastname": ""}, form_path="/account")
    assert_summarised(text(name), "Account settings", ["firstname", "lastname"])
    clock.advance(11 * 60)  # access confirmed at sign-in lasts 10 minutes
    wrong = signed_in.post_form("/confirm-access", {"password": "not her password", "next": "/account"},
                                form_path="/confirm-access?next=/account")
    assert_summarised(text(wrong), "Confirm access", ["password"])


def test_the_new_link_and_authenticator_forms_have_the_summary_and_the_title(app, client, clock):
    from security.support import signed_in
    from test_second_factor import CODE_PAGE, code_step, password_step, post_form, set_up_app
    page = text(client.post("/confirm", data={"csrf_token": csrf_token_in(text(client.get("/confirm"))),
                                               "email": "not an address"}))
    assert_summarised(page, "Confirm your email address", ["email"])
    ada = signed_in(app)
    post_form(ada, "/security/app", "/security")
    setup = text(post_form(ada, "/security/app/confirm", "/security/app", code="000000"))
    assert_summarised(setup, "Set up an authenticator app", ["code"])
    set_up_app(ada, clock)
    browser, answer = password_step(app)
    assert answer.headers["Location"] == CODE_PAGE
    assert_summarised(text(code_step(browser, "000000")), "Sign In: code", ["code"])
