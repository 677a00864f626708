"""Operators can mount wsgiauth under a prefix inside a bigger WSGI application."""

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import AuthActions


def test_mounted_under_a_prefix_every_url_keeps_the_prefix(app):
    outer = DispatcherMiddleware(Response("the bigger app"), {"/accounts": app})
    client = Client(outer)
    assert client.get("/").get_data(as_text=True) == "the bigger app"
    page = client.get("/accounts/signup").get_data(as_text=True)
    assert 'action="/accounts/signup"' in page
    stylesheet = f"/accounts/static/{app.static_files.hashed['style.css']}"  # the name the app links
    assert f'href="{stylesheet}"' in page
    assert 'href="/accounts/about"' in page
    response = AuthActions(client).post_form("/accounts/signup", {
        "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/accounts/profile"
    assert "This is ada@example.com's profile page" in client.get("/accounts/profile").get_data(as_text=True)
    assert client.get(stylesheet, buffered=True).status_code == 200
    assert client.get("/accounts/static/style.css", buffered=True).status_code == 200
