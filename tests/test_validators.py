"""Property-based tests of the validators: any string gets a message or a clean value, never an exception."""

import email
import email.policy

from hypothesis import example, given, settings
from hypothesis import strategies as st

from wsgiauth.forms import canonical_email, check_email, check_line, validate_contact, validate_signup
from wsgiauth.mailer import address, build_message

# Text weighted towards what breaks address parsers: the characters of
# RFC 5322's syntax, line breaks, and any Unicode.
SYNTAX = "@.()<>[]\\\",;: \t\r\n=?\u2028\u2029\x85"
hostile = st.text(alphabet=st.sampled_from(SYNTAX) | st.characters(), max_size=300)
addressy = st.builds(lambda local, domain: f"{local}@{domain}",
                     st.text(alphabet=st.sampled_from(SYNTAX + "abcXYZ019!#$%&'*+/^_`{|}~-"), max_size=70),
                     st.text(alphabet=st.sampled_from(SYNTAX + "abcxn019-"), max_size=200))
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def mail_with(to="a@example.org", reply_to=None, subject="s"):
    """Build a message the way the outbox does, with the given header values."""
    return build_message(mail_from="x <noreply@example.org>", to=to, reply_to=reply_to, subject=subject,
                         body="b", message_id="<1@example.org>", date=0)


@settings(max_examples=400, deadline=None)
@given(hostile | addressy)
@example("a@[b.co")
@example("=?utf-8?q?a?=@example.com")
@example("(x)victim@example.com")
@example('"victim"@example.com')
def test_any_string_is_a_message_or_a_canonical_address_that_mail_accepts(value):
    errors = {}
    email = check_email(value, errors)
    if errors:
        assert set(errors) == {"email"} and errors["email"].endswith(".")
        return
    assert canonical_email(email) == email == email.strip().lower()
    assert len(email) <= 254 and email.isascii()
    # The address mail goes to is exactly the one stored: one mailbox, one account.
    assert address("", email) == email
    assert mail_with(to=address("", email))["To"].addresses[0].addr_spec == email


@settings(max_examples=400, deadline=None)
@given(hostile)
@example("one\u2028two")
@example('"\\' * 50)
def test_any_single_line_value_is_a_message_or_fits_a_mail_header(value):
    errors = {}
    line = check_line(value.strip(), errors, "subject", "Subject", "Please enter a subject.", 200)
    if errors:
        return
    assert not any(ch in line for ch in LINE_BREAKS)
    # Sent and read back as the receiving mail program reads it: the same
    # subject, and a Reply-To with the same name (white space aside) and address.
    received = email.message_from_bytes(bytes(mail_with(subject=line, reply_to=address(line, "a@example.org"))),
                                        policy=email.policy.default)
    assert " ".join(received["Subject"].split()) == " ".join(line.split())
    (reply_to,) = received["Reply-To"].addresses
    assert reply_to.addr_spec == "a@example.org"
    assert " ".join(reply_to.display_name.split()) == " ".join(line.split())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "email", "subject", "message", "firstname", "lastname",
                                        "password"]), hostile))
def test_whole_forms_never_raise(form):
    data, errors = validate_contact(form)
    assert set(errors) <= {"name", "email", "subject", "message"}
    data, errors = validate_signup(form, common=frozenset())
    assert set(errors) <= {"firstname", "lastname", "email", "password"}
