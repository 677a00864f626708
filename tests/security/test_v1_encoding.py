"""ASVS 5.0 V1 Encoding and Sanitization: hostile text stays text in pages, JSON, SQL, templates and mail."""

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from conftest import TEST_CONTACT_TO, AuthActions, ClosingClient
from smtpserver import text

# A name that would end an attribute value and open a tag, if printed as it is.
ATTRIBUTE_BREAKER = "\"><svg/onload=alert(1)>"


def sign_up(client, **fields):
    """Sign up through the form with Ada's other fields; the browser is then signed in."""
    response = AuthActions(client).signup(**fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def test_1_2_1_names_are_escaped_in_elements_and_in_attribute_values(client):
    """1.2.1: a name is HTML-escaped in text (profile) and in an attribute value (the account form's value="")."""
    sign_up(client, firstname=ATTRIBUTE_BREAKER, lastname="O'Brien&<b>Co</b>")
    profile = client.get("/profile").get_data(as_text=True)
    account = client.get("/account").get_data(as_text=True)
    assert "&#34;&gt;&lt;svg/onload=alert(1)&gt; O&#39;Brien&amp;&lt;b&gt;Co&lt;/b&gt;" in profile
    assert 'value="&#34;&gt;&lt;svg/onload=alert(1)&gt;"' in account
    assert 'value="O&#39;Brien&amp;&lt;b&gt;Co&lt;/b&gt;"' in account
    for page in (profile, account):
        assert "<svg" not in page and "<b>Co" not in page


@pytest.mark.filterwarnings("ignore::DeprecationWarning:fido2")
def test_1_2_3_json_for_the_page_s_script_keeps_its_structure_whatever_the_name(client):
    """1.2.3: the passkey options (JSON) carry a name with quotes, </script> and U+2028 as that exact string."""
    name = "</script><script>alert(1)</script>\"}, \"x\": \"\\"
    sign_up(client, firstname=name, lastname="Lovelace")
    token = csrf_token_in(client.get("/security").get_data(as_text=True))
    response = client.post("/security/passkeys/options", data={"csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/json"
    user = response.get_json()["options"]["user"]
    assert user["displayName"] == f"{name} Lovelace" and user["name"] == "ada@example.com"
    assert set(response.get_json()) == {"options"}


@pytest.mark.both_databases
def test_1_2_4_quotes_backslashes_and_placeholders_are_stored_as_typed(client, query, mail_app, smtp_server):
    """1.2.4: values are bound parameters: SQL quotes, backslashes (MariaDB) and :name or %(name)s stay text."""
    firstname, lastname = "\\'; DELETE FROM users; --", "%(uid)s :uid %s \\\\ %%"
    sign_up(client, firstname=firstname, lastname=lastname, email="o'brien%x@example.com")
    (row,) = [row for row in query("all_users_for_tests")]
    assert (row["firstname"], row["lastname"], row["email"]) == (firstname, lastname, "o'brien%x@example.com")
    visitor = AuthActions(Client(mail_app))
    message = "SELECT :email FROM users; -- \\' \" %(x)s"
    response = visitor.post_form("/contact", {"name": lastname, "email": "zoe@example.com", "subject": firstname,
                                              "message": message})
    assert response.status_code == 303
    (stored,) = query("all_contact_messages_for_tests")
    assert (stored["name"], stored["subject"], stored["message"]) == (lastname, firstname, message)


def test_1_3_7_template_syntax_in_a_name_is_shown_never_run(client):
    """1.3.7: templates come only from files; Jinja syntax a user types is printed, not evaluated."""
    sign_up(client, firstname="{{ 7*7 }}", lastname="{%if 1%}Yes{%endif%}")
    page = client.get("/profile").get_data(as_text=True)
    assert "{{ 7*7 }} {%if 1%}Yes{%endif%}" in page
    # What the name would be if run; not a bare "49", which a random CSRF token or a file hash may hold.
    assert "49 Yes" not in page


def test_1_3_10_format_strings_in_a_name_and_address_are_text_in_the_page_and_the_mail(mail_app, smtp_server):
    """1.3.10: "{0}", "{email}", "%s" typed by a user are values of a format, never the format itself."""
    client = ClosingClient(mail_app)
    sign_up(client, firstname="{0} {email} %s %(uid)s", lastname="{user[pwdhash]}", email="{x}%s@example.com")
    assert "{0} {email} %s %(uid)s {user[pwdhash]}" in client.get("/profile").get_data(as_text=True)
    (mail,) = smtp_server.messages
    assert mail["To"] == "{x}%s@example.com"
    assert "Hello {0} {email} %s %(uid)s,\n" in text(mail)


def test_1_3_11_no_smtp_command_or_header_can_be_slipped_into_a_contact_message(mail_app, smtp_server, query):
    """1.3.11: line breaks in header fields are refused; a body's SMTP commands and lone dots arrive as text."""
    visitor = AuthActions(ClosingClient(mail_app))
    for field, value in [("email", "zoe@example.com\r\nBcc: victim@example.com"),
                         ("name", "Zoe\r\nBcc: victim@example.com"), ("subject", "Hi\nBcc: victim@example.com")]:
        fields = {"name": "Zoe", "email": "zoe@example.com", "subject": "Hi", "message": "Hello", field: value}
        response = visitor.post_form("/contact", fields)
        assert response.status_code == 200 and f'aria-describedby="{field}-error"' in response.get_data(as_text=True)
    assert query("all_contact_messages_for_tests") == [] and smtp_server.messages == []
    smuggled = ("Hello\r\n.\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
                "Subject: spam\r\n\r\nbuy now\r\n.\r\nQUIT\r\n..\r\nbye")
    response = visitor.post_form("/contact", {"name": "Zoe", "email": "zoe@example.com", "subject": "Hi",
                                              "message": smuggled})
    assert response.status_code == 303
    (envelope,) = smtp_server.handler.envelopes
    assert envelope.rcpt_tos == [TEST_CONTACT_TO] and envelope.mail_from == "noreply@example.org"
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "[Contact] Hi" and mail["Bcc"] is None
    assert smuggled.replace("\r\n", "\n") in text(mail)
