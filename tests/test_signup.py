"""Sign-up: messages, normalisation, re-shown values, the created row and the session."""

import pytest

from conftest import LONGEST_EMAIL


@pytest.fixture
def user_row(query):
    """Return a lookup: the stored user row for an email, or None."""
    def lookup(email):
        found = [row for row in query("all_users_for_tests") if row["email"] == email]
        return found[0] if found else None
    return lookup


def test_signup_page_has_the_fields(client):
    page = client.get("/signup").get_data(as_text=True)
    for label in ("First name", "Last name", "Email", "Password", "Create account"):
        assert label in page


@pytest.mark.both_databases
def test_signup_creates_user_signs_in_and_redirects_to_profile(client, auth, user_row):
    response = auth.signup()
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile"
    row = user_row("ada@example.com")
    assert (row["firstname"], row["lastname"], row["email"]) == ("Ada", "Lovelace", "ada@example.com")
    profile = client.get("/profile")
    assert profile.status_code == 200
    assert "This is ada@example.com's profile page" in profile.get_data(as_text=True)


@pytest.mark.both_databases
def test_password_is_stored_only_as_a_hash(auth, user_row):
    auth.signup(password="correct horse")
    stored = user_row("ada@example.com")["pwdhash"]
    assert "correct horse" not in stored
    assert stored.startswith("pbkdf2:sha256:1000$")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("firstname", "", "Please enter your first name."),
        ("firstname", "   ", "Please enter your first name."),
        ("lastname", "", "Please enter your last name."),
        ("email", "", "Please enter your email address."),
        ("email", "not-an-email", "Please enter your email address."),
        ("email", "two@@example.com", "Please enter your email address."),
        ("email", "spaces in@example.com", "Please enter your email address."),
        ("password", "", "Please enter a password."),
        ("password", "short", "Password must be at least 8 characters."),
        ("firstname", "a" * 101, "First name must be at most 100 characters."),
        ("lastname", "b" * 101, "Last name must be at most 100 characters."),
        ("email", "a" * 245 + "@example.com", "Email address must be at most 254 characters."),
        ("password", "p" * 1025, "Password must be at most 1024 characters."),
        ("firstname", "Ada\r\nBcc: x@example.com", "First name must not contain line breaks or control characters."),
    ],
)
def test_signup_error_messages(client, auth, user_row, field, value, message):
    data = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"}
    data[field] = value
    response = auth.signup(**data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert user_row("ada@example.com") is None
    assert client.get("/profile").status_code == 303


def test_all_errors_at_once_one_per_field(auth):
    page = auth.signup(firstname="", lastname="", email="", password="").get_data(as_text=True)
    for message in ("Please enter your first name.", "Please enter your last name.",
                    "Please enter your email address.", "Please enter a password."):
        assert page.count(message) == 2  # under its field, and in the summary at the top (issue 17)


def test_form_is_reshown_with_typed_values_but_never_the_password(auth):
    page = auth.signup(firstname="Grace", lastname="Hopper", email="grace@", password="secret-pass-123")
    html = page.get_data(as_text=True)
    assert 'value="Grace"' in html and 'value="Hopper"' in html and 'value="grace@"' in html
    assert "secret-pass-123" not in html


@pytest.mark.both_databases
def test_lengths_at_the_limit_are_accepted(auth, user_row):
    email = LONGEST_EMAIL
    response = auth.signup(firstname="a" * 100, lastname="B" * 100, email=email, password="p" * 1024)
    assert response.status_code == 303
    row = user_row(email)
    assert row["firstname"] == "A" + "a" * 99 and row["lastname"] == "B" * 100


@pytest.mark.parametrize(
    "typed, stored",
    [("ada", "Ada"), ("  ada  ", "Ada"), ("mary-jane", "Mary-Jane"), ("o'brien", "O'Brien"),
     ("McDonald", "McDonald"), ("van Gogh", "van Gogh"), ("ADA", "ADA"), ("élodie", "Élodie")],
)
def test_names_are_trimmed_and_capitalised_only_when_all_lower_case(auth, user_row, typed, stored):
    auth.signup(firstname=typed, lastname=typed)
    row = user_row("ada@example.com")
    assert row["firstname"] == stored and row["lastname"] == stored


def test_email_is_trimmed_and_lower_cased(auth, user_row):
    auth.signup(email="  Ada.Lovelace@Example.COM ")
    assert user_row("ada.lovelace@example.com") is not None


@pytest.mark.both_databases
def test_taken_email_whatever_its_case(auth, make_user, query):
    make_user()
    response = auth.signup(firstname="Other", email="ADA@example.com")
    assert response.status_code == 200
    assert "That email is already taken" in response.get_data(as_text=True)
    assert [row["email"] for row in query("all_users_for_tests")] == ["ada@example.com"]


def test_signed_in_user_is_redirected_away_from_signup_and_signin(client, signed_in):
    for path in ("/signup", "/signin"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == "/profile"


@pytest.mark.both_databases
def test_sql_looking_input_is_stored_and_shown_literally(client, auth, user_row):
    name = "Robert'); DROP TABLE users;--"
    response = auth.signup(firstname=name, lastname="<script>alert(1)</script>", email="bobby@example.com")
    assert response.status_code == 303
    row = user_row("bobby@example.com")
    assert row["firstname"] == name
    html = client.get("/profile").get_data(as_text=True)
    assert "Robert&#39;); DROP TABLE users;--" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


@pytest.mark.both_databases
def test_non_ascii_names_and_passwords(client, auth, user_row):
    response = auth.signup(firstname="Zoë", lastname="Ødegård 李", email="zoe@example.com", password="pässwörd✓✓")
    assert response.status_code == 303
    auth.signout()
    assert auth.signin("zoe@example.com", "pässwörd✓✓").status_code == 303
    assert "Zoë Ødegård 李" in client.get("/profile").get_data(as_text=True)
