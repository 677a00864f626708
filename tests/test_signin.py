"""Sign-in, profile and sign-out as a user sees them."""

import pytest

INVALID = "Invalid e-mail or password"


@pytest.fixture
def ada(auth, make_user):
    """Ada's account (stored directly), and the test client, signed out."""
    make_user()
    return auth


def test_signin_page_has_the_fields(client):
    page = client.get("/signin").get_data(as_text=True)
    for text in ("Email", "Password", "Sign In"):
        assert text in page


@pytest.mark.both_databases
def test_signin_redirects_to_profile(client, ada):
    response = ada.signin()
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile"
    page = client.get("/profile").get_data(as_text=True)
    assert "This is ada@example.com's profile page" in page
    assert "Ada Lovelace" in page


@pytest.mark.both_databases
def test_email_matches_whatever_its_case(ada):
    assert ada.signin(email="  ADA@Example.com ").status_code == 303


@pytest.mark.parametrize("email, password", [("ada@example.com", "wrong password"),
                                             ("nobody@example.com", "correct horse")])
def test_wrong_password_and_unknown_email_look_the_same(client, ada, email, password):
    response = ada.signin(email=email, password=password)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert INVALID in page
    assert 'value="%s"' % email in page
    assert password not in page
    assert client.get("/profile").status_code == 303


def test_empty_signin_fields_say_what_is_missing(ada):
    page = ada.signin(email="", password="").get_data(as_text=True)
    assert "Please enter your email address." in page
    assert "Please enter your password." in page


def test_over_long_password_is_refused_like_a_wrong_one(ada):
    response = ada.signin(password="x" * 5000)
    assert response.status_code == 200 and INVALID in response.get_data(as_text=True)


def test_profile_needs_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signin")


def test_signout_ends_session_and_redirects_home(client, signed_in):
    response = signed_in.signout()
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/profile").status_code == 303


def test_get_signout_shows_a_button_and_changes_nothing(client, signed_in):
    page = client.get("/signout")
    assert page.status_code == 200
    assert "Sign Out" in page.get_data(as_text=True)
    assert client.get("/profile").status_code == 200


def test_nav_changes_with_sign_in(client, auth, make_user):
    signed_out = client.get("/").get_data(as_text=True)
    assert ">Sign Up<" in signed_out and ">Sign In<" in signed_out
    assert ">Profile<" not in signed_out and ">Sign Out<" not in signed_out
    make_user()
    auth.signin()
    signed_in = client.get("/").get_data(as_text=True)
    assert ">Profile<" in signed_in and ">Sign Out<" in signed_in
    assert ">Sign Up<" not in signed_in and ">Sign In<" not in signed_in
    # Sign Out is a POST form with a CSRF token, not a link a GET could follow.
    assert '<form class="inline" method="post" action="/signout">' in signed_in


def test_home_and_about_pages(client):
    home = client.get("/")
    assert home.status_code == 200 and "Welcome" in home.get_data(as_text=True)
    about = client.get("/about")
    assert about.status_code == 200
    text = about.get_data(as_text=True)
    assert "Who it is for" in text and "How it is built" in text
