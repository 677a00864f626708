"""The gates: every endpoint needs a signed-in user unless routes.PUBLIC names it; a host app's pages behind
wsgiauth.gate need a signed-in user, or a member of a group."""

import pytest
from werkzeug.test import Client

import wsgiauth
from wsgiauth import Gate, accounts
from wsgiauth.routes import PUBLIC, VIEWS, url_map

from conftest import TEST_SECRET_KEY, csrf_token_in

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


# -- The groups a host app's pages need behind wsgiauth.gate ---------------------


def host(environ, start_response):
    """A host app: who the gate says is signed in, and their groups."""
    user = environ.get("wsgiauth.user")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"{environ.get('REMOTE_USER', 'stranger')} in {user['groups'] if user else ()}".encode()]


@pytest.fixture
def site(app):
    """A browser on the host app behind the gate: /finance for the group finance, /reports/*/staff also for staff."""
    return Client(Gate(host, app, protect=["/reports"],
                       groups={"/finance": "finance", "/reports/*/staff": "staff", "/reports/q*": "finance"}))


def sign_in(site):
    """Sign Ada in through wsgiauth's own form under /accounts."""
    page = site.get("/accounts/signin").get_data(as_text=True)
    signed_in = site.post("/accounts/signin", data={"email": "ada@example.com", "password": "correct horse",
                                                    "csrf_token": csrf_token_in(page)})
    assert signed_in.headers["Location"] == "/accounts/profile"


def change_groups(app, uid, add=(), remove=()):
    """Put uid in the groups `add` and take it out of `remove`, as an operator's command does (accounts.py)."""
    def change(tx):
        for name in add:
            accounts.add_to_group(app, tx, None, uid, name)
        for name in remove:
            accounts.remove_from_group(app, tx, None, uid, name)

    app.db.transaction(change)


BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.mark.both_databases
def test_a_group_s_page_opens_for_its_members_only_and_at_once_after_a_change(app, site, make_user):
    uid = make_user()
    sign_in(site)
    assert site.get("/public").get_data(as_text=True) == "ada@example.com in ()"
    refused = site.get("/finance/2026", headers=BROWSER)
    assert refused.status_code == 403 and refused.headers["Cache-Control"] == "no-store"
    page = refused.get_data(as_text=True)
    # wsgiauth's own error page, in the site's layout, under the mount point.
    assert "This page is for members of the group finance." in page
    assert f'href="/accounts/static/{app.static_files.hashed["style.css"]}"' in page
    assert 'href="/accounts/profile"' in page
    assert "Content-Security-Policy" in refused.headers and "Set-Cookie" not in refused.headers
    change_groups(app, uid, add=["finance", "staff"])
    assert site.get("/finance/2026").get_data(as_text=True) == "ada@example.com in ('finance', 'staff')"
    # Taken out of the group: refused on the very next request.
    change_groups(app, uid, remove=["finance"])
    assert site.get("/finance", headers=BROWSER).status_code == 403
    assert site.get("/reports/2026/staff").status_code == 200


def test_a_program_that_is_not_a_member_gets_a_plain_403_and_the_refusal_is_logged(site, make_user, caplog):
    uid = make_user()
    sign_in(site)
    refused = site.get("/finance/secret-name", headers={"Accept": "application/json"})
    assert (refused.status_code, refused.mimetype) == (403, "text/plain")
    assert refused.get_data(as_text=True) == ("This page is for members of the group finance. If you need it, ask an "
                                              "administrator to add you.\n")
    # ASVS 5.0 16.3.2: the pattern that refused, never the path asked for.
    (line,) = [record.getMessage() for record in caplog.records if record.name == "wsgiauth.gate"]
    assert line == f"403 for uid={uid} on GET /finance: not in the group finance"


def test_a_path_two_patterns_cover_needs_both_groups(app, site, make_user):
    uid = make_user()
    sign_in(site)
    change_groups(app, uid, add=["staff"])
    assert site.get("/reports/q3/staff").status_code == 403  # /reports/q* wants finance too
    change_groups(app, uid, add=["finance"])
    assert site.get("/reports/q3/staff").status_code == 200


@pytest.mark.parametrize("path", ["/finance", "/finance/2026?x=1", "/reports/q3/staff"])
def test_signed_out_a_group_s_page_is_a_protected_page(site, path):
    refused = site.get(path, headers=BROWSER)
    assert refused.status_code == 303
    assert refused.headers["Location"] == "/accounts/signin?next=" + path.replace("?", "%3F").replace("=", "%3D")
    assert site.get(path, headers={"Accept": "application/json"}).status_code == 401
    assert site.get("/financial").status_code == 200  # a sibling path, not below /finance


@pytest.mark.parametrize("group", ["Finance", "", "a,b", None])
def test_a_group_no_member_could_ever_have_is_refused_at_start_up(app, group):
    with pytest.raises(ValueError, match="must be a group name"):
        Gate(host, app, groups={"/finance": group})


def test_wsgiauth_gate_takes_the_groups(database_url, make_user, app):
    application = wsgiauth.gate(host, {"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY},
                                groups={"/finance": "finance"})
    try:
        site = Client(application)
        make_user()
        sign_in(site)
        assert site.get("/finance").status_code == 403
    finally:
        application.accounts.db.close()
