"""The sign-in gate: every endpoint needs a signed-in user unless routes.PUBLIC names it."""

from wsgiauth.routes import PUBLIC, VIEWS, url_map

from conftest import csrf_token_in

# A value for each URL argument, so every rule can be requested.
ARGUMENTS = {"uid": 1, "token": "not-a-real-token", "filename": "style.css"}


def test_every_endpoint_has_a_view_and_every_public_name_an_endpoint():
    endpoints = {rule.endpoint for rule in url_map().iter_rules()}
    assert endpoints == set(VIEWS)
    assert PUBLIC <= endpoints


def test_every_endpoint_is_public_or_sends_a_signed_out_browser_to_sign_in(client):
    adapter = url_map().bind("localhost")
    for rule in url_map().iter_rules():
        path = adapter.build(rule.endpoint, {name: ARGUMENTS[name] for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # A fresh token each time: POST /signout expires the cookie it is tied to.
            token = csrf_token_in(client.get("/signin").get_data(as_text=True))
            response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None,
                                   buffered=True)
            gated = response.status_code == 303 and response.headers["Location"].startswith("/signin")
            if rule.endpoint == "signin_code":
                # Public, but a browser without a half sign-in is sent back to
                # the sign-in page by the view itself (without ?next=).
                assert response.headers["Location"] == "/signin"
                continue
            assert gated == (rule.endpoint not in PUBLIC), (method, path, response.status_code)
            if gated and method == "GET":
                assert response.headers["Location"] == f"/signin?next={path}"


def test_a_signed_in_user_passes_the_gate(client, auth):
    auth.signup()
    for path in ("/profile", "/account"):
        assert client.get(path).status_code == 200
