"""ASVS 5.0 V8 Authorization: the admin area opens only to the group admin (8.2.1, 8.2.2), tried URL by URL."""

import pytest
from helpers import csrf_token_in

from wsgiauth import accounts, routes

from support import browser, signed_in, signin

ADMIN_ONLY = "This page is only for administrators"


def admin_rules(app):
    """Return every rule of the Map under /admin, with the methods it answers (HEAD and OPTIONS aside)."""
    return [(rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/admin")]


def join(app, email, group):
    """Put the account with this email in group, as an operator's command does."""
    uid = app.db.one("user_uid_by_email", email=email)["uid"]
    app.db.transaction(lambda tx: accounts.add_to_group(app.settings, tx, None, uid, group))
    return uid


def form_for(rule, target_email):
    """Return the fields an admin would send to this rule: a group's name, or what a delete or sign-out asks typed."""
    return {"admin_user_group_add": {"group": "admin"}, "admin_user_group_remove": {"group": "admin"},
            "admin_user_delete": {"delete_confirm": target_email},
            "admin_sessions_signout": {"signout_confirm": "EVERYONE"}}.get(rule.endpoint, {})


def try_everything(app, client, uid, email, token):
    """Send every admin URL with each of its methods for account uid; return [(method, url, response)]."""
    answers = []
    for rule, methods in admin_rules(app):
        url = app.url_map.bind("localhost").build(rule.endpoint, {"uid": uid} if "uid" in rule.arguments else {})
        for method in methods:
            data = {"csrf_token": token, **form_for(rule, email)} if method == "POST" else None
            answers.append((method, url, client.open(url, method=method, data=data)))
    return answers


def test_every_admin_url_needs_the_group_and_a_fresh_confirmation(app):
    """8.2.1: each URL under /admin is in GROUP_ONLY (group admin) and in CONFIRMED (sudo mode); none is public."""
    endpoints = {rule.endpoint for rule, _ in admin_rules(app)}
    assert len(endpoints) == 15
    assert all(routes.GROUP_ONLY.get(endpoint) == "admin" for endpoint in endpoints)
    assert endpoints <= set(routes.CONFIRMED) and not endpoints & routes.PUBLIC


@pytest.mark.both_databases
def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing(app, client, make_user, query):
    """8.2.1: signed out, every admin page redirects to sign in; every action is refused, with a token or without."""
    uid = make_user()
    join(app, "ada@example.com", "admin")
    before = query("accounts_state_for_tests")
    token = csrf_token_in(client.get("/signin").get_data(as_text=True))  # an anonymous session's token
    for method, url, response in try_everything(app, client, uid, "ada@example.com", token):
        assert response.status_code == 303, (method, url)
        assert response.headers["Location"].startswith("/signin"), (method, url)
    for method, url, response in try_everything(app, browser(app, addr="127.0.0.9"), uid, "ada@example.com", ""):
        assert response.status_code in (303, 400), (method, url)  # no cookie: the CSRF check refuses POSTs first
    assert query("accounts_state_for_tests") == before


@pytest.mark.both_databases
@pytest.mark.parametrize("group", [None, "finance"])
def test_users_outside_the_admin_group_get_403_for_every_page_and_action(app, make_user, query, group, caplog):
    """8.2.1 / 8.2.2 / 16.3.2: a plain user, or one of another group, gets 403 everywhere under /admin, logged."""
    target = make_user(email="bob@example.com", firstname="Bob", lastname="Builder")
    join(app, "bob@example.com", "admin")
    # Bob signed in: "Sign out everyone" (7.4.5), were it let through, would end his session.
    assert signin(browser(app, addr="127.0.0.30"), email="bob@example.com").status_code == 303
    eve = signed_in(app, addr="127.0.0.31", email="eve@example.com", firstname="Eve", lastname="Dropper")
    if group:
        join(app, "eve@example.com", group)
    before = query("accounts_state_for_tests")
    token = csrf_token_in(eve.get("/profile").get_data(as_text=True))
    answers = try_everything(app, eve, target, "bob@example.com", token)
    assert len(answers) == 15
    for method, url, response in answers:
        assert response.status_code == 403, (method, url, response.status_code)
        assert ADMIN_ONLY in response.get_data(as_text=True), (method, url)
    assert query("accounts_state_for_tests") == before
    assert b'href="/admin"' not in eve.get("/profile").data  # no Admin link either
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("403 for uid=")]
    assert len(refusals) == 15 and any(r.endswith("POST /admin/users/<int:uid>/lock: not in the group admin")
                                       for r in refusals)


@pytest.mark.both_databases
def test_a_form_carried_through_confirm_access_is_refused_to_a_non_admin(app, make_user, query):
    """8.2.1: the Confirm access page runs a carried form only if the user could have sent it directly."""
    target = make_user(email="bob@example.com", firstname="Bob", lastname="Builder")
    join(app, "bob@example.com", "admin")
    eve = signed_in(app, addr="127.0.0.32", email="eve@example.com", firstname="Eve", lastname="Dropper")
    before = query("accounts_state_for_tests")
    page = eve.get("/confirm-access").get_data(as_text=True)
    response = eve.post("/confirm-access", data={"csrf_token": csrf_token_in(page), "password": "correct horse",
                                                 "then": f"/admin/users/{target}/lock"})
    assert response.status_code == 403 and ADMIN_ONLY in response.get_data(as_text=True)
    assert query("accounts_state_for_tests") == before


@pytest.mark.both_databases
def test_an_admin_acting_on_an_account_that_does_not_exist_gets_404_and_nothing_changes(app, make_user, query):
    """8.2.2: a uid that names no account answers 404 for its page and for every action; no row changes."""
    make_user()
    join(app, "ada@example.com", "admin")
    ada = browser(app, addr="127.0.0.33")
    assert signin(ada).headers["Location"] == "/profile"
    before = query("accounts_state_for_tests")
    token = csrf_token_in(ada.get("/admin").get_data(as_text=True))
    answers = [(m, u, r) for m, u, r in try_everything(app, ada, 987654, "nobody@example.com", token)
               if "/users/" in u]
    assert len(answers) == 10  # the user's page and its 9 actions
    for method, url, response in answers:
        assert response.status_code == 404, (method, url, response.status_code)
        assert "There is no account with this number" in response.get_data(as_text=True)
    assert query("accounts_state_for_tests") == before
