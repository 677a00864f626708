"""The Contact page in a real Chromium: mistakes first, then a message that reaches a real SMTP server."""

import pytest

from chromium import expect
from conftest import TEST_CONTACT_TO, TEST_MAIL_FROM
from person import check_errors, fill, nav, page_problems, sign_in, submit, tab_through, typed_values
from smtpserver import text

pytestmark = pytest.mark.browser

THANKS = "Thank you for your message. We'll get back to you shortly."
FIELDS = ("Name", "Email", "Subject", "Message")
# Typed as a person would: non-ASCII letters, and line breaks in the message.
ZOE = {"Name": "Zoë Łukasiewicz", "Email": "zoe@example.com", "Subject": "Grüße – the form works",
       "Message": "Hello!\nTyped in a real browser: ünïcödé, 日本語.\n\nZoë"}

EMPTY_FORM_ERRORS = {"Name": "Please enter your name.", "Email": "Please enter your email address.",
                     "Subject": "Please enter a subject.", "Message": "Please enter a message."}


@pytest.fixture(scope="module")
def live_server_env(live_smtp_server):
    """Send the live server's mail to a real SMTP server."""
    return {"WSGIAUTH_MAIL_URL": live_smtp_server.url, "WSGIAUTH_MAIL_FROM": TEST_MAIL_FROM,
            "WSGIAUTH_CONTACT_TO": TEST_CONTACT_TO}


@pytest.fixture
def smtp_server(live_mail):
    """The live server's SMTP server, with none of the earlier tests' mail."""
    return live_mail


@pytest.mark.both_databases
def test_send_a_message_after_fixing_mistakes(page, smtp_server, live_query):
    page.goto("/")
    nav(page).get_by_role("link", name="Contact").click()
    expect(page).to_have_url("/contact")
    assert typed_values(page, *FIELDS) == dict.fromkeys(FIELDS, "")

    submit(page, "Send")  # nothing typed yet
    check_errors(page, EMPTY_FORM_ERRORS)  # each message right under its field, focus on the first

    fill(page, {"Name": ZOE["Name"], "Email": "zoe@example", "Subject": ZOE["Subject"]})
    submit(page, "Enter")  # Enter in the Subject field
    check_errors(page, {"Email": "Please enter your email address.", "Message": "Please enter a message."})
    assert typed_values(page, *FIELDS) == {**ZOE, "Email": "zoe@example", "Message": ""}

    fill(page, {"Email": ZOE["Email"], "Message": ZOE["Message"]})  # Enter in the Message is a line break
    submit(page, "Send")
    expect(page).to_have_url("/contact/sent")
    expect(page.get_by_role("status")).to_have_text(THANKS)
    assert page_problems(page) == []

    (mail,) = smtp_server.wait_for_messages(1)
    assert (mail["From"], mail["To"]) == (TEST_MAIL_FROM, TEST_CONTACT_TO)
    # The visitor's address is the Reply-To, never the From.
    (reply_to,) = mail["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (ZOE["Name"], ZOE["Email"])
    assert mail["Subject"] == f"[Contact] {ZOE['Subject']}"
    assert text(mail) == f"{ZOE['Name']} <{ZOE['Email']}> wrote through the Contact page:\n\n{ZOE['Message']}\n"

    # Reloading the thank-you page asks for it again with a GET: nothing is sent twice.
    reload = page.reload()
    assert (reload.request.method, reload.status) == ("GET", 200)
    expect(page.get_by_role("status")).to_have_text(THANKS)
    assert len(live_query("all_contact_messages_for_tests")) == 1
    assert len(live_query("all_outbox_for_tests")) == 1
    assert len(smtp_server.messages) == 1


def test_signed_in_person_finds_name_and_email_filled_in(page, smtp_server, live_user):
    live_user()
    sign_in(page)
    nav(page).get_by_role("link", name="Contact").click()
    assert typed_values(page, *FIELDS) == {"Name": "Ada Lovelace", "Email": "ada@example.com",
                                           "Subject": "", "Message": ""}
    fill(page, {"Subject": "Hello", "Message": "Sent while signed in."})
    submit(page, "Send")
    expect(page.get_by_role("status")).to_have_text(THANKS)
    (mail,) = smtp_server.wait_for_messages(1)
    assert mail["To"] == TEST_CONTACT_TO
    assert str(mail["Reply-To"]) == "Ada Lovelace <ada@example.com>"
    assert "Ada Lovelace <ada@example.com> (signed in as user #" in text(mail)


def test_the_honeypot_is_out_of_sight_and_out_of_tab_reach(new_page):
    page = new_page(reduced_motion="reduce")  # the skip link slides in; focus is checked at once
    page.goto("/contact")
    reached = [element["name"] for element in tab_through(page)]
    assert reached[reached.index("field:Name"):reached.index("button:Send") + 1] == [
        "field:Name", "field:Email", "field:Subject", "field:Message", "button:Send"]
    honeypot = page.locator("input[name=website]")
    expect(honeypot).to_have_count(1)  # it is on the page, for bots to fill in
    box = honeypot.bounding_box()
    assert box["x"] + box["width"] <= 0, f"the honeypot can be seen at {box}"
    # aria-hidden: screen readers do not offer it either.
    expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(4)
