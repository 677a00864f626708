"""The admin area (issue 16): finding users, one account's page and every action on it, the rules that keep an
administrator, Confirm access before it, the audit trail and its CSV export; and Download my data.

Who may open these pages at all (signed out, a plain user, another group) is the access-control matrix's
business (tests/security); here an admin uses them and the tests look at what changed.
"""

import csv
import html
import io
import json
import re
import threading

import pytest
from helpers import csrf_token_in
from security.support import browser, signin
from softkey import SoftKey
from test_passkeys import add_passkey, passkey_signin
from test_second_factor import set_up_app

from wsgiauth import accounts, audit, migrations, totp
from wsgiauth.db import Database
from wsgiauth.queries import split_script

from conftest import ADA, TEST_BASE_URL, AuthActions, ClosingClient
from smtpserver import link_in, mail_to, text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:fido2")

GRACE = {"firstname": "Grace", "lastname": "Hopper", "email": "grace@example.com", "password": "correct horse"}
WINDOW = 10 * 60  # WSGIAUTH_CONFIRM_ACCESS_MINUTES
# The path of each action's form under /admin/users/<uid>/.
ACTIONS = {"signout": "signout", "lock": "lock", "unlock": "unlock", "confirmation": "confirmation",
           "reset": "reset", "factors": "factors/remove", "group_add": "groups", "group_remove": "groups/remove",
           "delete": "delete"}


# -- helpers --------------------------------------------------------------

def page(response):
    """Return a response's text."""
    return response.get_data(as_text=True)


def make_admin(app, make_user, **fields):
    """Store an account (Grace, unless fields say otherwise) in the group admin; return its uid."""
    uid = make_user(app, confirmed=True, **{**GRACE, **fields})
    app.db.transaction(lambda tx: accounts.add_to_group(app, tx, None, uid, accounts.ADMIN))
    return uid


def signed_in_browser(app, email, password=GRACE["password"]):
    """Return a new browser (AuthActions on a client that waits for the mail it caused) signed in as email."""
    person = AuthActions(ClosingClient(app))
    assert person.signin(email=email, password=password).headers["Location"] == "/profile"
    return person


def new_admin(app, make_user, **fields):
    """Store an administrator (Grace, unless fields say otherwise) and sign in; return the browser, with .uid."""
    uid = make_admin(app, make_user, **fields)
    person = signed_in_browser(app, fields.get("email", GRACE["email"]))
    person.uid = uid
    return person


@pytest.fixture
def site(request):
    """The app under test: the one that sends real mail to the SMTP server if the test reads it (smtp_server)."""
    return request.getfixturevalue("mail_app" if "smtp_server" in request.fixturenames else "app")


@pytest.fixture
def admin(site, make_user):
    """Grace, an administrator, signed in: a browser with her .uid."""
    return new_admin(site, make_user)


def uid_of(query, email):
    """Return the uid of the account with this email address."""
    return query("user_uid_by_email", email=email)[0]["uid"]


def user_page(uid):
    """Return the path of one account's admin page."""
    return f"/admin/users/{uid}"


def act(admin, uid, action, form_path=None, **fields):
    """Press an action's button (with fields) on the admin page of uid; return the response."""
    return admin.post_form(f"{user_page(uid)}/{ACTIONS[action]}", fields, form_path=form_path or user_page(uid))


def done(response, uid):
    """Assert that an action was carried out: back to the account's page (303)."""
    assert (response.status_code, response.headers.get("Location")) == (303, user_page(uid)), page(response)


def press(admin, uid, action, form_path=None, **fields):
    """Press an action's button, see it carried out; return the one notice the account's page then shows."""
    done(act(admin, uid, action, form_path, **fields), uid)
    [notice] = notices(page(admin.client.get(user_page(uid))))
    return notice


def press_mailing_nothing(admin, smtp_server, uid, action):
    """Press an action's button on an older page (the button is gone now); see no mail sent; return the notice."""
    sent = len(smtp_server.messages)
    notice = press(admin, uid, action, form_path="/admin")
    assert len(smtp_server.messages) == sent
    return notice


def notices(html_text):
    """Return the one-shot notices shown on a page."""
    return [html.unescape(n) for n in re.findall(r'<div class="notice" role="status">(.*?)</div>', html_text)]


def alert(html_text):
    """Return the text of a page's alert (an action refused), or None."""
    found = re.search(r'<div class="alert" role="alert">(.*?)</div>', html_text, re.S)
    return html.unescape(found[1]).strip() if found else None


def cell_text(value):
    """Return a table cell's text: tags dropped, entities decoded, spaces trimmed."""
    return html.unescape(re.sub(r"<[^>]+>", "", value)).strip()


def table(html_text, label):
    """Return the rows of the table whose opening tag contains label, each as {column: text} (and "links")."""
    start = re.search(rf'<table class="data[^"]*" {re.escape(label)}', html_text).start()
    body = html_text[start:html_text.index("</table>", start)]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)
        if cells:
            found = {name: cell_text(value) for name, value in cells}
            found["links"] = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', row)]
            rows.append(found)
    return rows


def users_listed(html_text):
    """Return the rows of the users list."""
    return table(html_text, 'aria-label="Users"')


def emails_listed(html_text):
    """Return the email addresses on a page of the users list, in order."""
    return [row["Email"] for row in users_listed(html_text)]


def audit_listed(html_text, label="Audit trail"):
    """Return the rows of an audit trail table (the whole trail's, or 'Audit trail of this account')."""
    return table(html_text, f'aria-label="{label}"')


def page_link(html_text, name):
    """Return the URL of the "Next page" or "First page" link, or None."""
    found = re.search(rf'<a class="button secondary" href="([^"]+)"[^>]*>{name}</a>', html_text)
    return html.unescape(found[1]) if found else None


def every_page(client, url):
    """Follow the Next page links from url; return the pages' texts."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, page(response)
        pages.append(page(response))
        url = page_link(pages[-1], "Next page")
        assert len(pages) < 100
    return pages


def events(query, name=None):
    """Return the audit rows (of event name)."""
    return [row for row in query("security_events_for_tests") if name is None or row["event"] == name]


def by_admin(query, name, admin_uid, uid):
    """Assert there is one audit row of event name about uid, done by admin_uid; return it."""
    [row] = [row for row in events(query, name) if row["uid"] == uid]
    assert row["actor_uid"] == admin_uid, row
    return row


def user_state(query, uid):
    """Return the users row of uid (confirmed_at, locked_at, ...), or None."""
    return next((row for row in query("users_state_for_tests") if row["uid"] == uid), None)


def groups_of(query, uid):
    """Return the names of uid's groups, sorted."""
    return [row["name"] for row in query("memberships_for_tests") if row["uid"] == uid]


def sessions_of(query, uid):
    """Return the session rows of uid."""
    return [row for row in query("all_sessions_for_tests") if row["uid"] == uid]


def record_events(app, uid, count, event="signin_failed", **fields):
    """Write count audit rows of event for uid, at the clock's time, their detail numbering them."""
    def write(tx):
        for n in range(count):
            tx.run("insert_security_event", at=app.now(), event=event, uid=uid, detail=f"n{n}",
                   **{"ip": "198.51.100.1", "user_agent": "test", "actor_uid": None, **fields})

    app.db.transaction(write)


# -- the users list --------------------------------------------------------

PEOPLE = [  # (firstname, lastname, email), stored in this order
    ("Zoë", "Ärger", "zoe@example.com"),
    ("Adam", "Smith", "adam@example.org"),
    ("Bob", "Adams", "bob@example.com"),
    ("Alan", "Turing", "alan.turing@example.net"),
    ("Ada", "Lovelace", "ada@example.com"),
]


@pytest.fixture
def people(site, make_user):
    """Store PEOPLE; return {email: uid}."""
    return {email: make_user(site, firstname=first, lastname=last, email=email)
            for first, last, email in PEOPLE}


def search(admin, q="", by="email"):
    """Search the users list; return the emails found, in order."""
    response = admin.client.get("/admin", query_string={"q": q, "by": by})
    assert response.status_code == 200, page(response)
    return emails_listed(page(response))


@pytest.mark.both_databases
def test_search_by_the_start_of_an_email_address_or_a_name_in_any_case(admin, people):
    assert search(admin, "AD") == ["ada@example.com", "adam@example.org"]
    assert search(admin, "ada@example.com") == ["ada@example.com"]
    assert search(admin, "alan.t") == ["alan.turing@example.net"]
    assert search(admin, "example") == []  # the start, not anywhere inside
    assert search(admin, "ada", by="name") == ["ada@example.com", "adam@example.org"]
    assert search(admin, "ADA L", by="name") == ["ada@example.com"]  # "firstname lastname"
    assert search(admin, "  alan turing ", by="name") == ["alan.turing@example.net"]
    assert search(admin, "ZOË Ä", by="name") == ["zoe@example.com"]  # lower-cased beyond ASCII
    assert search(admin, "adams", by="name") == []  # Bob Adams: a last name is not the start
    for wildcard in ("%", "_", "a%", "*"):  # a range of the index, not LIKE
        assert search(admin, wildcard) == [] and search(admin, wildcard, by="name") == []
    nothing = page(admin.client.get("/admin?q=lovelace&by=name"))
    assert "No user's name starts with “lovelace”." in nothing


@pytest.mark.both_databases
def test_everyone_is_listed_sorted_by_email_or_by_name(admin, people):
    emails = sorted([*people, GRACE["email"]])
    assert search(admin) == emails
    # By name: "firstname lastname" in lower case, as Python orders it (code points).
    names = {"zoe@example.com": "zoë ärger", "adam@example.org": "adam smith", "bob@example.com": "bob adams",
             "alan.turing@example.net": "alan turing", "ada@example.com": "ada lovelace",
             GRACE["email"]: "grace hopper"}
    assert search(admin, by="name") == sorted(names, key=names.get)
    response = admin.client.get("/admin?by=name")
    assert [row["Name"] for row in users_listed(page(response))][:2] == ["Ada Lovelace", "Adam Smith"]


def test_a_bad_search_is_answered_400_with_why(admin, people):
    response = admin.client.get("/admin", query_string={"q": "a" * 255})
    assert response.status_code == 400 and "Type at most 254 characters, on one line." in page(response)
    response = admin.client.get("/admin", query_string={"q": "ada\nx"})
    assert response.status_code == 400 and "on one line" in page(response)
    response = admin.client.get("/admin", query_string={"q": "ada", "by": "age"})
    assert response.status_code == 400 and "Search by email or by name." in page(response)
    assert emails_listed(page(response)) == ["ada@example.com", "adam@example.org"]  # by email instead


def store_many(app, make_user, count, name=lambda n: ("Sam", "Smith")):
    """Store count accounts whose addresses sort in another order than they are stored; return their emails."""
    emails = []
    for n in range(count):
        first, last = name(n)
        email = f"user{(n * 37) % count:03d}@example.com"  # 37 and count share no factor: every number once
        make_user(app, firstname=first, lastname=last, email=email)
        emails.append(email)
    return emails


@pytest.mark.both_databases
def test_the_users_list_pages_by_email_without_repeating_or_skipping_anyone(admin, site, make_user):
    emails = store_many(site, make_user, 120)
    pages = every_page(admin.client, "/admin")
    assert [len(emails_listed(p)) for p in pages] == [50, 50, 21]
    assert [e for p in pages for e in emails_listed(p)] == sorted([*emails, GRACE["email"]])
    assert page_link(pages[0], "First page") is None
    for later in pages[1:]:
        assert page_link(later, "First page") == "/admin?q=&by=email"
    assert page_link(pages[-1], "Next page") is None
    # A search pages too, and its Next page link keeps it.
    found = every_page(admin.client, "/admin?q=USER0")
    assert [e for p in found for e in emails_listed(p)] == sorted(e for e in emails if e.startswith("user0"))
    assert page_link(found[0], "Next page") == "/admin?q=USER0&by=email&after=user049@example.com"
    assert page_link(found[1], "First page") == "/admin?q=USER0&by=email"


@pytest.mark.both_databases
def test_the_users_list_pages_by_name_through_people_of_the_same_name(admin, site, make_user, query):
    # 70 people called Sam Smith (in uid order), among 40 others: a page ends among the Sams.
    store_many(site, make_user, 110, name=lambda n: ("Sam", "Smith") if n % 11 < 7 else ("Kim", f"Lee{n}"))
    pages = every_page(admin.client, "/admin?by=name")
    rows = [row for p in pages for row in users_listed(p)]
    expected = sorted(query("users_state_for_tests"), key=lambda row: (row["name_key"], row["uid"]))
    assert [row["links"][0] for row in rows] == [user_page(row["uid"]) for row in expected]
    assert len(pages) == 3 and len(set(row["Email"] for row in rows)) == 111
    sams = [p for p in pages if any(row["Name"] == "Sam Smith" for row in users_listed(p))]
    assert len(sams) >= 2  # the Sams did span a page break
    assert page_link(pages[1], "First page") == "/admin?q=&by=name"
    # A search by name pages the same way.
    found = every_page(admin.client, "/admin?by=name&q=sam")
    assert len([row for p in found for row in users_listed(p)]) == 70 and len(found) == 2


@pytest.mark.both_databases
def test_the_list_shows_created_confirmed_last_sign_in_second_factor_groups_and_lock(site, make_user, clock):
    bob = make_user(site, firstname="Bob", lastname="Baker", email="bob@example.com")  # never signed in
    clock.advance(3600)
    ada = make_user(site, confirmed=True)
    set_up_app(signed_in_browser(site, ADA["email"]).client, clock)
    site.db.transaction(lambda tx: (accounts.add_to_group(site, tx, None, ada, "staff"),
                                    accounts.add_to_group(site, tx, None, ada, "billing"),
                                    accounts.lock(site, tx, None, ada)))
    admin = new_admin(site, make_user)
    rows = {row.pop("Email"): row for row in users_listed(page(admin.client.get("/admin")))}
    assert rows["bob@example.com"] == {
        "Name": "Bob Baker", "Created": "2027-01-15 08:00 UTC", "Confirmed": "No", "Last sign-in": "Never",
        "Second factor": "Off", "Groups": "–", "Status": "Active", "links": [user_page(bob)]}
    assert rows["ada@example.com"] == {
        "Name": "Ada Lovelace", "Created": "2027-01-15 09:00 UTC", "Confirmed": "Yes",
        "Last sign-in": "2027-01-15 09:00 UTC", "Second factor": "On", "Groups": "billing, staff",
        "Status": "Locked", "links": [user_page(ada)]}
    assert (rows[GRACE["email"]]["Groups"], rows[GRACE["email"]]["Status"]) == ("admin", "Active")


# -- one user's page ---------------------------------------------------------

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.mark.both_databases
def test_a_users_page_shows_details_groups_sessions_and_trail(admin, site, make_user, query, clock):
    ada = make_user(site)
    clock.advance(60)
    assert signin(browser(site, "192.0.2.7", FIREFOX)).status_code == 303
    assert signin(browser(site, "2001:db8::7", "curl/8.0")).status_code == 303
    site.db.transaction(lambda tx: accounts.add_to_group(site, tx, None, ada, "staff"))
    html_text = page(admin.client.get(user_page(ada)))
    assert "<h1>Ada Lovelace</h1>" in html_text
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", html_text, re.S))
    assert {name: cell_text(value) for name, value in facts.items()} == {
        "Email": "ada@example.com", "User number": str(ada), "Created": "2027-01-15 08:00 UTC",
        "Email confirmed": "Not yet", "Last sign-in": "2027-01-15 08:01 UTC", "Status": "Active",
        "Second factor": "Off"}
    assert re.findall(r"<span>([^<]+)</span> <button", html_text) == ["staff"]
    assert "Groups so far: admin (1), staff (1)" in html_text
    sessions = table(html_text, 'aria-labelledby="sessions-heading"')
    assert sorted((row["Browser"], row["IP address"]) for row in sessions) == [
        ("Firefox on Linux", "192.0.2.7"), ("curl", "2001:db8::7")]
    assert all(row["Signed in"] == row["Last active"] == "2027-01-15 08:01 UTC" for row in sessions)
    trail = audit_listed(html_text, "Audit trail of this account")
    assert [(row["Event"], row["By admin"], row["Detail"]) for row in trail] == [
        ("group_added", "–", "staff"), ("signin", "–", "password"), ("signin", "–", "password")]
    assert "Send the confirmation link again" in html_text and "Remove second factors" not in html_text
    assert "Delete this account" in html_text and "Lock the account" in html_text
    assert all(row["id_hash"] not in html_text for row in query("all_sessions_for_tests"))


def test_an_admins_own_page_offers_no_delete(admin):
    html_text = page(admin.client.get(user_page(admin.uid)))
    assert "This is your own account: delete it from your" in html_text and "Delete this account" not in html_text
    assert "Send the confirmation link again" not in html_text  # confirmed


@pytest.mark.both_databases
def test_a_users_audit_trail_pages_through_events_of_the_same_second(admin, site, make_user, clock):
    ada = make_user(site)
    bob = make_user(site, email="bob@example.com")
    record_events(site, ada, 60)  # all at one time: (at, id) orders them
    record_events(site, bob, 5)
    clock.advance(1)
    record_events(site, ada, 3, event="signin_throttled")
    pages = every_page(admin.client, user_page(ada))
    rows = [row for p in pages for row in audit_listed(p, "Audit trail of this account")]
    assert [len(audit_listed(p, "Audit trail of this account")) for p in pages] == [50, 13]
    assert [row["Detail"] for row in rows] == ["n2", "n1", "n0"] + [f"n{n}" for n in range(59, -1, -1)]
    assert rows[0]["Event"] == "signin_throttled" and rows[3]["Event"] == "signin_failed"
    assert page_link(pages[1], "First page") == user_page(ada)
    assert page_link(pages[0], "First page") is None
    assert "<h1>Ada Lovelace</h1>" in pages[1]  # the rest of the page is there on every page


# -- the actions ---------------------------------------------------------------

@pytest.fixture
def ada(site, make_user):
    """Ada, signed in on her own browser: the browser, with her .uid."""
    uid = make_user(site)
    person = signed_in_browser(site, ADA["email"], ADA["password"])
    person.uid = uid
    return person


def signed_in(person):
    """Say whether a browser is signed in (its next request finds its session)."""
    response = person.client.get("/profile")
    assert response.status_code in (200, 303)
    return response.status_code == 200


@pytest.mark.both_databases
def test_sign_out_everywhere(admin, ada, site, query):
    phone = signed_in_browser(site, ADA["email"])
    assert press(admin, ada.uid, "signout") == "ada@example.com has been signed out of 2 sessions."
    assert not signed_in(ada) and not signed_in(phone)
    assert sessions_of(query, ada.uid) == [] and len(sessions_of(query, admin.uid)) == 1
    assert by_admin(query, "signed_out_by_admin", admin.uid, ada.uid)["detail"] == "2 sessions"
    assert "Not signed in anywhere." in page(admin.client.get(user_page(ada.uid)))
    assert press(admin, ada.uid, "signout") == "ada@example.com has been signed out of 0 sessions."
    assert signed_in_browser(site, ADA["email"])  # nothing else changed: she signs in again


@pytest.mark.both_databases
def test_lock_ends_every_session_and_refuses_the_right_password_only(admin, ada, query):
    done(act(admin, ada.uid, "lock"), ada.uid)
    html_text = page(admin.client.get(user_page(ada.uid)))
    assert notices(html_text) == ["ada@example.com is locked and has been signed out everywhere."]
    assert "<strong class=\"badge danger\">Locked</strong> since 2027-01-15 08:00 UTC: cannot sign in" in html_text
    assert ">Unlock</button>" in html_text and "Lock the account" not in html_text
    assert not signed_in(ada) and sessions_of(query, ada.uid) == []
    assert user_state(query, ada.uid)["locked_at"] == 1_800_000_000
    assert by_admin(query, "account_locked", admin.uid, ada.uid)["detail"] == "1 sessions"

    right = ada.signin()
    assert right.status_code == 403 and "This account is locked." in page(right)
    assert "Invalid e-mail or password" not in page(right) and not signed_in(ada)
    wrong = ada.signin(password="not her password")
    assert wrong.status_code == 200 and "Invalid e-mail or password" in page(wrong)
    assert "This account is locked" not in page(wrong)
    assert [row["uid"] for row in events(query, "signin_locked")] == [ada.uid]
    assert sessions_of(query, ada.uid) == []
    assert emails_listed(page(admin.client.get("/admin?q=ada"))) == ["ada@example.com"]
    assert users_listed(page(admin.client.get("/admin?q=ada")))[0]["Status"] == "Locked"

    assert press(admin, ada.uid, "lock") == "ada@example.com was locked already."  # a second press: nothing
    assert len(events(query, "account_locked")) == 1


@pytest.mark.parametrize("action", ["lock", "signout"])
def test_lock_and_sign_out_everywhere_end_a_sign_in_waiting_for_its_code(admin, ada, site, clock, query, action):
    key, _ = set_up_app(ada.client, clock)
    clock.advance(totp.STEP)
    half = AuthActions(ClosingClient(site))  # the right password typed; the code not yet
    assert half.signin().headers["Location"] == "/signin/code"
    assert len(query("pending_signins_for_tests")) == 1
    done(act(admin, ada.uid, action), ada.uid)
    assert query("pending_signins_for_tests") == []
    response = half.post_form("/signin/code", {"code": totp.totp(key, clock())}, form_path="/signin")
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")  # the right code, too late
    assert "Your sign-in took more than 5 minutes" in page(half.client.get("/signin")) and not signed_in(half)


@pytest.mark.both_databases
def test_sign_out_everyone_ends_every_session_but_this_browser(admin, ada, site, make_user, query, clock):
    """ASVS 5.0 7.4.5: an admin ends all users' sessions at once, a word typed first; audited with the count."""
    key, _ = set_up_app(ada.client, clock)
    make_user(site, email="bob@example.com", firstname="Bob", lastname="Builder")
    bob, laptop = signed_in_browser(site, "bob@example.com"), signed_in_browser(site, GRACE["email"])
    clock.advance(totp.STEP)
    half = AuthActions(ClosingClient(site))  # Ada's right password typed elsewhere; the code not yet
    assert half.signin().headers["Location"] == "/signin/code"
    form = page(admin.client.get("/admin/sessions"))
    assert "<h1>Sessions</h1>" in form and "Type EVERYONE to confirm" in form

    slip = admin.post_form("/admin/sessions/signout", {"signout_confirm": "everyone"}, form_path="/admin/sessions")
    assert slip.status_code == 400 and "Please type EVERYONE to confirm." in page(slip)
    assert len(query("all_sessions_for_tests")) == 4 and events(query, "signed_out_everyone") == []

    answer = admin.post_form("/admin/sessions/signout", {"signout_confirm": "EVERYONE"}, form_path="/admin/sessions")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/sessions")
    assert notices(page(admin.client.get("/admin/sessions"))) == [
        "3 sessions ended: everyone else must sign in again."]
    assert not any(signed_in(person) for person in (ada, bob, laptop)) and signed_in(admin)
    assert sessions_of(query, admin.uid) == query("all_sessions_for_tests") and len(sessions_of(query, admin.uid)) == 1
    assert query("pending_signins_for_tests") == []
    response = half.post_form("/signin/code", {"code": totp.totp(key, clock())}, form_path="/signin")
    assert (response.status_code, response.headers["Location"]) == (303, "/signin")  # the right code, too late
    [row] = events(query, "signed_out_everyone")
    assert (row["uid"], row["actor_uid"], row["detail"]) == (None, admin.uid, "3 sessions")
    assert signed_in_browser(site, "bob@example.com")  # nothing else changed: people sign in again


@pytest.mark.both_databases
def test_unlock_lets_the_owner_sign_in_again(admin, ada, query):
    done(act(admin, ada.uid, "lock"), ada.uid)
    assert press(admin, ada.uid, "unlock") == "ada@example.com is unlocked: its owner can sign in again."
    assert user_state(query, ada.uid)["locked_at"] is None
    by_admin(query, "account_unlocked", admin.uid, ada.uid)
    assert ada.signin().headers["Location"] == "/profile" and signed_in(ada)
    assert press(admin, ada.uid, "unlock") == "ada@example.com was not locked."
    assert len(events(query, "account_unlocked")) == 1


def test_a_locked_account_cannot_sign_in_with_a_passkey_either(admin, ada, query):
    key = SoftKey(TEST_BASE_URL)
    assert add_passkey(ada.client, key).status_code == 303
    done(act(admin, ada.uid, "lock"), ada.uid)
    response = passkey_signin(ada.client, key)
    assert response.status_code == 403 and "This account is locked." in page(response)
    assert not signed_in(ada) and sessions_of(query, ada.uid) == []
    assert [row["detail"] for row in events(query, "signin_locked")] == ["passkey"]


@pytest.mark.both_databases
def test_resend_the_confirmation_link(admin, ada, site, smtp_server, query):
    assert press(admin, ada.uid, "confirmation") == "A new confirmation link is on its way to ada@example.com."
    by_admin(query, "confirmation_resent", admin.uid, ada.uid)
    mail = mail_to(smtp_server, ADA["email"], "Please confirm your email address")
    someone = AuthActions(ClosingClient(site))  # the link works in any browser
    assert someone.open_link(link_in(mail, "/confirm/")).status_code in (200, 303)
    assert user_state(query, ada.uid)["confirmed_at"] is not None
    html_text = page(admin.client.get(user_page(ada.uid)))
    assert "Send the confirmation link again" not in html_text
    # Confirmed now: a second press sends nothing.
    assert press_mailing_nothing(admin, smtp_server, ada.uid, "confirmation") == \
        "ada@example.com is confirmed already: nothing was sent."
    assert len(events(query, "confirmation_resent")) == 1


@pytest.mark.both_databases
def test_send_a_password_reset_link(admin, ada, site, smtp_server, query):
    assert press(admin, ada.uid, "reset") == "A password reset link is on its way to ada@example.com."
    by_admin(query, "reset_link_sent", admin.uid, ada.uid)
    link = link_in(mail_to(smtp_server, ADA["email"], "Reset your password"), "/reset/")
    someone = AuthActions(ClosingClient(site))
    someone.open_link(link)
    chosen = someone.post_form("/reset", {"password": "a brand new password", "password2": "a brand new password"})
    assert (chosen.status_code, chosen.headers["Location"]) == (303, "/signin")
    assert not signed_in(ada)  # a reset ends every session
    assert someone.signin(password="a brand new password").headers["Location"] == "/profile"


NO_FACTOR = "ada@example.com has no second factor: nothing was removed."


@pytest.mark.both_databases
def test_remove_second_factors(admin, ada, site, smtp_server, clock, query):
    set_up_app(ada.client, clock)
    assert add_passkey(ada.client, SoftKey(TEST_BASE_URL)).status_code == 303
    before = page(admin.client.get(user_page(ada.uid)))
    assert re.search(r"Authenticator app since 2027-01-15 08:00 UTC \(10 recovery codes left\); 1 passkey</dd>",
                     before)
    assert users_listed(page(admin.client.get("/admin?q=ada")))[0]["Second factor"] == "On"
    done(act(admin, ada.uid, "factors"), ada.uid)
    after = page(admin.client.get(user_page(ada.uid)))
    assert notices(after) == [
        "The second factors of ada@example.com have been removed; they have been told by email."]
    assert "<dt>Second factor</dt><dd>Off</dd>" in after and "Remove second factors" not in after
    assert [query(name) for name in ("totp_factors_for_tests", "recovery_codes_for_tests", "passkeys_for_tests")] \
        == [[], [], []]
    assert by_admin(query, "factors_removed", admin.uid, ada.uid)["detail"] == "2"
    mail = mail_to(smtp_server, ADA["email"], "The second factors of your account were removed")
    assert "An administrator removed the authenticator app, recovery codes and passkeys" in text(mail)
    assert signed_in(ada)  # her sessions stay
    # The password alone signs in now: no code is asked for.
    assert signed_in_browser(site, ADA["email"])
    # Nothing left: nothing removed, nobody told.
    assert press_mailing_nothing(admin, smtp_server, ada.uid, "factors") == NO_FACTOR
    assert len(events(query, "factors_removed")) == 1


def test_the_page_says_how_to_prove_who_asks_before_removing_second_factors(admin, ada, site, clock):
    """ASVS 5.0 6.4.4: the procedure (SECURITY.md, "Removing a lost second factor") is next to the button."""
    assert "factors-procedure" not in page(admin.client.get(user_page(ada.uid)))  # no factor: no button, no text
    set_up_app(ada.client, clock)
    html_text = page(admin.client.get(user_page(ada.uid)))
    procedure = html_text[html_text.index('id="factors-procedure"'):]
    procedure = procedure[:procedure.index("</div>")]
    assert "Remove second factors" in html_text
    for words in ("Send a password reset link with the button above and have them use it",
                  "only the owner of\n      ada@example.com can", "(this address was never confirmed",
                  "a call back to a number you already have", "never a request by phone or message alone",
                  "ask\n      another administrator", "The owner is told by email"):
        assert words in procedure, words
    # A confirmed address: its ownership was proven by a link at enrolment, so no warning.
    site.db.transaction(lambda tx: tx.run("confirm_email", uid=ada.uid, email="ada@example.com", now=int(clock())))
    assert "(this address was never confirmed" not in page(admin.client.get(user_page(ada.uid)))


@pytest.mark.both_databases
def test_add_and_remove_groups(admin, ada, query):
    done(act(admin, ada.uid, "group_add", group=" Staff "), ada.uid)  # trimmed, lower-cased
    html_text = page(admin.client.get(user_page(ada.uid)))
    assert notices(html_text) == ["ada@example.com is now in the group staff."]
    assert "Groups so far: admin (1), staff (1)" in html_text
    assert groups_of(query, ada.uid) == ["staff"] and query("groups_for_tests") == [{"name": "admin"},
                                                                                   {"name": "staff"}]
    assert by_admin(query, "group_added", admin.uid, ada.uid)["detail"] == "staff"
    assert press(admin, ada.uid, "group_add", group="staff") == "ada@example.com is in the group staff already."
    assert len(events(query, "group_added")) == 2  # Grace's own, by the command, and this one

    done(act(admin, ada.uid, "group_add", group="admin"), ada.uid)
    assert ada.client.get("/admin").status_code == 200  # at once, on her next request
    done(act(admin, ada.uid, "group_remove", group="admin"), ada.uid)
    assert ada.client.get("/admin").status_code == 403
    assert press(admin, ada.uid, "group_remove", group="staff") == \
        "ada@example.com is no longer in the group staff."
    assert groups_of(query, ada.uid) == []
    assert [(row["detail"], row["actor_uid"]) for row in events(query, "group_removed")] == [
        ("admin", admin.uid), ("staff", admin.uid)]
    assert press(admin, ada.uid, "group_remove", group="staff") == "ada@example.com was not in the group staff."
    assert press(admin, ada.uid, "group_remove", group="nosuchgroup") == \
        "ada@example.com was not in the group nosuchgroup."
    assert query("groups_for_tests") == [{"name": "admin"}, {"name": "staff"}]  # an empty group stays
    assert len(events(query, "group_removed")) == 2
    longest = "a.b-c_" + "x" * 58  # 64 characters: the longest name, in the table and in the trail
    assert press(admin, ada.uid, "group_add", group=longest) == f"ada@example.com is now in the group {longest}."
    assert groups_of(query, ada.uid) == [longest] and events(query, "group_added")[-1]["detail"] == longest


@pytest.mark.parametrize("name", ["", "  ", "Bad Name", "staff,admin", "-staff", ".", "x" * 65, "ünï", "a/b",
                                  "a\nb"])
def test_a_bad_group_name_is_a_form_error(admin, ada, query, name):
    before = query("row_counts_for_tests")
    for action in ("group_add", "group_remove"):
        response = act(admin, ada.uid, action, group=name)
        assert response.status_code == 400, page(response)
        assert accounts.GROUP_NAME_RULE.replace("'", "&#39;") in page(response)
    assert query("row_counts_for_tests") == before
    response = act(admin, ada.uid, "group_add", group=name)
    assert 'aria-invalid="true"' in page(response)


@pytest.mark.both_databases
def test_delete_an_account_once_its_email_is_typed(admin, ada, site, query):
    site.db.transaction(lambda tx: accounts.add_to_group(site, tx, None, ada.uid, "staff"))
    set_up_app(ada.client, site.settings.CLOCK)
    for typed in ("", "DELETE", "grace@example.com", "ada@example"):
        response = act(admin, ada.uid, "delete", delete_confirm=typed)
        assert response.status_code == 400
        assert "Please type the account's email address to confirm." in html.unescape(page(response))
    assert user_state(query, ada.uid) is not None and signed_in(ada)
    response = act(admin, ada.uid, "delete", delete_confirm=" ADA@example.com ")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin")
    assert notices(page(admin.client.get("/admin"))) == ["The account ada@example.com has been deleted."]
    assert user_state(query, ada.uid) is None and not signed_in(ada)
    assert sessions_of(query, ada.uid) == [] and groups_of(query, ada.uid) == []
    assert query("totp_factors_for_tests") == [] and query("recovery_codes_for_tests") == []
    assert query("groups_for_tests") == [{"name": "admin"}, {"name": "staff"}]
    by_admin(query, "account_delete", admin.uid, ada.uid)
    assert len([row for row in events(query) if row["uid"] == ada.uid]) > 3  # her trail is kept
    assert act(admin, ada.uid, "delete", form_path="/admin", delete_confirm="ada@example.com").status_code == 404
    trail = audit_listed(page(admin.client.get(f"/admin/audit?uid={ada.uid}")))
    assert {row["Account"] for row in trail} == {f"#{ada.uid} (deleted)"}
    assert trail[0]["Event"] == "account_delete" and trail[0]["By admin"] == f"#{admin.uid}"
    assert ada.signin().status_code == 200  # gone: "Invalid e-mail or password"


def test_an_unfinished_authenticator_app_is_no_second_factor_to_remove(admin, ada, smtp_server, query):
    # Ada began setting up an app (a key was made) but never typed a code from it.
    assert ada.post_form("/security/app", {}, form_path="/security").status_code == 303
    assert len(query("totp_factors_for_tests")) == 1
    assert press_mailing_nothing(admin, smtp_server, ada.uid, "factors") == NO_FACTOR
    assert events(query, "factors_removed") == []
    assert query("totp_factors_for_tests") == []  # the unfinished key is gone all the same


def test_signing_oneself_out_everywhere_ends_this_session_too(admin, query):
    done(act(admin, admin.uid, "signout"), admin.uid)
    assert not signed_in(admin) and query("all_sessions_for_tests") == []
    by_admin(query, "signed_out_by_admin", admin.uid, admin.uid)


# -- the rules that keep an administrator -------------------------------------------

HEDY = {"firstname": "Hedy", "lastname": "Lamarr", "email": "hedy@example.com"}


@pytest.mark.both_databases
def test_an_admin_cannot_lock_delete_or_leave_the_admin_group_themselves(admin, site, make_user, query):
    make_admin(site, make_user, **HEDY)  # not the last admin: refused all the same
    before = query("row_counts_for_tests")
    for action, fields in [("lock", {}), ("delete", {"delete_confirm": GRACE["email"]}),
                           ("group_remove", {"group": "admin"})]:
        response = act(admin, admin.uid, action, **fields)
        assert response.status_code == 409, (action, page(response))
        assert alert(page(response)) == accounts.NOT_YOURSELF
        assert "<h1>Grace Hopper</h1>" in page(response)
    assert query("row_counts_for_tests") == before
    assert groups_of(query, admin.uid) == ["admin"] and user_state(query, admin.uid)["locked_at"] is None
    assert signed_in(admin) and admin.client.get("/admin").status_code == 200
    # Any other group of their own is theirs to join and leave.
    done(act(admin, admin.uid, "group_add", group="staff"), admin.uid)
    done(act(admin, admin.uid, "group_remove", group="staff"), admin.uid)
    assert groups_of(query, admin.uid) == ["admin"]


def in_transaction(app, work, uid, *args):
    """Run an accounts.py function the way the `wsgiauth` command does (no request, no acting admin)."""
    return app.db.transaction(lambda tx: work(app, tx, None, uid, *args))


@pytest.mark.both_databases
def test_the_last_admin_cannot_be_removed_locked_or_deleted(app, make_user, query):
    grace = make_admin(app, make_user)
    hedy = make_admin(app, make_user, **HEDY)
    assert in_transaction(app, accounts.lock, hedy)  # a locked admin opens nothing: Grace is the last
    before = query("row_counts_for_tests")
    for work, args in [(accounts.remove_from_group, ("admin",)), (accounts.lock, ()), (accounts.delete, ())]:
        with pytest.raises(accounts.Refused, match=accounts.LAST_ADMIN):
            in_transaction(app, work, grace, *args)
    assert query("row_counts_for_tests") == before
    assert groups_of(query, grace) == ["admin"] and user_state(query, grace)["locked_at"] is None
    # Hedy unlocked, Grace is no longer the last, and may go; then Hedy is.
    assert in_transaction(app, accounts.unlock, hedy)
    assert in_transaction(app, accounts.remove_from_group, grace, "admin")
    with pytest.raises(accounts.Refused, match=accounts.LAST_ADMIN):
        in_transaction(app, accounts.lock, hedy)
    with pytest.raises(accounts.Refused, match=accounts.LAST_ADMIN):
        in_transaction(app, accounts.delete, hedy)
    # Leaving other groups, locking and deleting non-admins are not affected.
    assert in_transaction(app, accounts.add_to_group, grace, "staff")
    assert in_transaction(app, accounts.remove_from_group, grace, "staff")
    assert in_transaction(app, accounts.lock, grace)
    in_transaction(app, accounts.delete, grace)
    assert [row["uid"] for row in query("users_state_for_tests")] == [hedy]
    row = events(query, "account_delete")[-1]
    assert (row["uid"], row["actor_uid"], row["user_agent"]) == (grace, None, audit.COMMAND_AGENT)


ROUNDS = 5


def each_other(app, query, action):
    """Have Grace and Hedy, the only admins, each press action on the other's page at the same moment.

    Return {uid: response} and the uids of the unlocked admins left afterwards.
    """
    grace, hedy = (signed_in_browser(app, email) for email in (GRACE["email"], HEDY["email"]))
    grace.uid, hedy.uid = (uid_of(query, email) for email in (GRACE["email"], HEDY["email"]))
    pairs = [(grace, hedy), (hedy, grace)]
    tokens = [csrf_token_in(page(me.client.get(user_page(other.uid)))) for me, other in pairs]
    start = threading.Barrier(2)
    results = {}

    def send(i):
        me, other = pairs[i]
        start.wait()
        results[me.uid] = me.client.post(f"{user_page(other.uid)}/{ACTIONS[action]}",
                                         data={"csrf_token": tokens[i], "group": "admin"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    locked = {row["uid"] for row in query("users_state_for_tests") if row["locked_at"]}
    admins = [row["uid"] for row in query("memberships_for_tests") if row["name"] == "admin"]
    return results, [uid for uid in admins if uid not in locked]


@pytest.mark.both_databases
@pytest.mark.parametrize("action", ["group_remove", "lock"])
def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, make_user, query, action):
    uids = {make_admin(app, make_user), make_admin(app, make_user, **HEDY)}
    for _ in range(ROUNDS):
        results, left = each_other(app, query, action)
        assert len(left) == 1, (left, {uid: r.status_code for uid, r in results.items()})
        winner, loser = left[0], (uids - set(left)).pop()
        won = results[winner]
        assert (won.status_code, won.headers["Location"]) == (303, user_page(loser))
        lost = results[loser]
        # The loser's request ran second: refused as the last admin's demotion, or (when it began
        # after the other's had ended) no longer an admin (403), or signed out by the lock.
        if lost.status_code == 409:
            assert alert(page(lost)) == accounts.LAST_ADMIN
        else:
            assert (lost.status_code, lost.headers.get("Location")) in ((403, None), (303, "/signin"))
        # Put things back for the next round.
        in_transaction(app, accounts.unlock, loser)
        in_transaction(app, accounts.add_to_group, loser, "admin")


@pytest.mark.both_databases
def test_changes_to_one_accounts_groups_at_once_leave_its_session_with_every_group(app, make_user, query):
    """Issue 18: the session lookup reads users.group_names, a copy rewritten with each membership change; two
    changes racing (different groups, one account) must not leave a copy missing either."""
    grace = make_admin(app, make_user)
    browser = signed_in_browser(app, GRACE["email"])
    for round_ in range(ROUNDS):
        names = [f"team-{round_}-a", f"team-{round_}-b"]
        start = threading.Barrier(2)

        def add(name, start=start):
            start.wait()
            in_transaction(app, accounts.add_to_group, grace, name)

        threads = [threading.Thread(target=add, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = sorted(row["name"] for row in query("memberships_for_tests") if row["uid"] == grace)
        assert browser.client.get("/auth/verify").headers["Remote-Groups"] == ",".join(stored)
        assert set(names) <= set(stored)
    in_transaction(app, accounts.remove_from_group, grace, "team-0-a")
    assert "team-0-a" not in browser.client.get("/auth/verify").headers["Remote-Groups"].split(",")


# -- an account that does not exist ---------------------------------------------

@pytest.mark.both_databases
def test_numbers_no_account_can_have_are_404_for_every_action_and_change_nothing(admin, ada, query):
    # A uid never stored, with each action, is tests/security/test_admin_access.py's; here the numbers past
    # INT UNSIGNED and past any integer a database binds, and an action whose form is wrong besides.
    fields = {"group": "staff", "delete_confirm": ADA["email"]}
    before = query("row_counts_for_tests")
    for uid in (2**32, 10**30):
        assert admin.client.get(user_page(uid)).status_code == 404
        for action in ACTIONS:
            response = act(admin, uid, action, form_path="/admin", **fields)
            assert response.status_code == 404, (uid, action, page(response))
            assert "There is no account with this number" in page(response)
    assert act(admin, ada.uid + 1, "group_add", form_path="/admin", group="Not a name!").status_code == 404
    assert query("row_counts_for_tests") == before
    assert signed_in(ada) and groups_of(query, ada.uid) == []


# -- Confirm access ------------------------------------------------------------------

def type_password(person, response, password=GRACE["password"]):
    """Type the password on the Confirm access page a form was answered with; return the answer."""
    html_text = page(response)
    form = html_text[html_text.index('action="/confirm-access"'):]
    fields = {name: html.unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}
    return person.client.post("/confirm-access", data={**fields, "password": password})


@pytest.mark.both_databases
def test_admin_pages_ask_to_confirm_access_after_the_window(admin, ada, clock):
    clock.advance(WINDOW - 1)
    assert admin.client.get("/admin").status_code == 200
    clock.advance(1)
    for path in ("/admin", user_page(ada.uid), "/admin/audit", "/admin/audit.csv"):
        response = admin.client.get(path)
        assert (response.status_code, response.headers["Location"]) == (303, f"/confirm-access?next={path}")
    answer = admin.post_form("/confirm-access", {"password": GRACE["password"], "next": user_page(ada.uid)},
                             form_path=f"/confirm-access?next={user_page(ada.uid)}")
    assert (answer.status_code, answer.headers["Location"]) == (303, user_page(ada.uid))
    assert admin.client.get(user_page(ada.uid)).status_code == 200


def test_a_search_or_a_filtered_export_comes_back_whole_after_confirming_access(admin, clock):
    # The query string travels in `next` (percent-encoded) and is followed
    # after the password: the filtered CSV, not the whole trail.
    clock.advance(WINDOW)
    for path in ("/admin?q=ada&by=name", "/admin/audit.csv?event=signin"):
        response = admin.client.get(path)
        asked = response.headers["Location"]
        assert asked == "/confirm-access?next=" + path.replace("=", "%3D").replace("&", "%26")
        answer = admin.post_form("/confirm-access", {"password": GRACE["password"], "next": path}, form_path=asked)
        assert (answer.status_code, answer.headers["Location"]) == (303, path)
        clock.advance(WINDOW)
    signed_out = ClosingClient(admin.client.application)
    assert signed_out.get("/admin?q=ada").headers["Location"] == "/signin?next=/admin?q%3Dada"


@pytest.mark.both_databases
def test_an_action_sent_after_the_window_is_carried_out_once_access_is_confirmed(admin, ada, query, clock):
    token = csrf_token_in(page(admin.client.get(user_page(ada.uid))))
    clock.advance(WINDOW)
    response = admin.client.post(f"{user_page(ada.uid)}/lock", data={"csrf_token": token})
    assert response.status_code == 403 and "<h1>Confirm access</h1>" in page(response)
    assert user_state(query, ada.uid)["locked_at"] is None and signed_in(ada)
    wrong = type_password(admin, response, "not my password")
    assert wrong.status_code == 200 and "That is not your password." in page(wrong)
    assert user_state(query, ada.uid)["locked_at"] is None
    done(type_password(admin, wrong), ada.uid)
    assert user_state(query, ada.uid)["locked_at"] is not None and not signed_in(ada)
    by_admin(query, "account_locked", admin.uid, ada.uid)

    # Confirming gave the session a new id (ASVS 5.0 7.2.4): the page's forms carry a new token.
    token = csrf_token_in(page(admin.client.get(user_page(ada.uid))))
    clock.advance(WINDOW)  # the fields a form carries: the group typed, the email typed
    response = admin.client.post(f"{user_page(ada.uid)}/groups", data={"csrf_token": token, "group": "staff"})
    assert response.status_code == 403 and groups_of(query, ada.uid) == []
    done(type_password(admin, response), ada.uid)
    assert groups_of(query, ada.uid) == ["staff"]
    token = csrf_token_in(page(admin.client.get(user_page(ada.uid))))
    clock.advance(WINDOW)
    response = admin.client.post(f"{user_page(ada.uid)}/delete",
                                 data={"csrf_token": token, "delete_confirm": ADA["email"]})
    assert response.status_code == 403 and user_state(query, ada.uid) is not None
    answer = type_password(admin, response)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin")
    assert user_state(query, ada.uid) is None


# -- the audit trail -------------------------------------------------------------------

DAY = 86400
JAN_15 = 1_800_000_000  # 2027-01-15 08:00 UTC, where the clock starts


def insert_events(app, *rows):
    """Store audit rows (at, event, uid, ip, user_agent, detail, actor_uid) directly, as the app writes them."""
    names = ("at", "event", "uid", "ip", "user_agent", "detail", "actor_uid")
    app.db.transaction(lambda tx: [tx.run("insert_security_event", **dict(zip(names, row))) for row in rows])


@pytest.fixture
def trail(admin, site, make_user):
    """A trail over four days, from two addresses, for Ada, Bob and a deleted account: {name: uid}."""
    ada = make_user(site)
    bob = make_user(site, email="bob@example.com", firstname="Bob", lastname="Baker")
    gone = bob + 100
    insert_events(site,
                  (JAN_15 - 3 * DAY, "signin", ada, "192.0.2.1", "Firefox", "password", None),  # Jan 12
                  (JAN_15 - 2 * DAY, "signin_failed", bob, "198.51.100.2", "curl", "", None),  # Jan 13
                  (JAN_15 - 2 * DAY + 5, "signin", bob, "198.51.100.2", "curl", "password", None),
                  (JAN_15 - DAY, "account_locked", bob, "192.0.2.1", "Firefox", "1 sessions", admin.uid),  # Jan 14
                  (JAN_15 - DAY + 60, "account_delete", gone, "192.0.2.9", "Firefox", "", None),
                  (JAN_15 - 60, "signin_failed", ada, "192.0.2.1", "Firefox", "", None))  # Jan 15
    return {"ada": ada, "bob": bob, "gone": gone}


def filtered(admin, status=200, **filters):
    """Open the audit trail with filters; return its rows as (event, account, detail), newest first."""
    response = admin.client.get("/admin/audit", query_string=filters)
    assert response.status_code == status, page(response)
    return [(row["Event"], row["Account"], row["Detail"]) for row in audit_listed(page(response))
            if row["When"] < "2027-01-15 08:00"]  # the trail's rows, not the admin's own sign-in


@pytest.mark.both_databases
def test_the_audit_trail_filters_by_event_user_address_and_days(admin, trail):
    everything = filtered(admin)
    assert everything == [
        ("signin_failed", "ada@example.com", "–"), ("account_delete", f"#{trail['gone']} (deleted)", "–"),
        ("account_locked", "bob@example.com", "1 sessions"), ("signin", "bob@example.com", "password"),
        ("signin_failed", "bob@example.com", "–"), ("signin", "ada@example.com", "password")]
    assert filtered(admin, event="signin") == [everything[3], everything[5]]
    assert filtered(admin, uid=str(trail["bob"])) == everything[2:5]
    assert filtered(admin, uid=str(trail["gone"])) == [everything[1]]
    assert filtered(admin, ip="192.0.2.1") == [everything[0], everything[2], everything[5]]
    assert filtered(admin, ip="192.0.2.1", event="signin_failed") == [everything[0]]
    assert filtered(admin, uid=str(trail["ada"]), ip="192.0.2.1", event="signin") == [everything[5]]
    assert filtered(admin, **{"from": "2027-01-13", "to": "2027-01-14"}) == everything[1:5]
    assert filtered(admin, **{"from": "2027-01-14"}) == everything[:3]
    assert filtered(admin, to="2027-01-12") == [everything[5]]
    assert filtered(admin, uid=str(trail["bob"]), to="2027-01-13") == everything[3:5]
    assert filtered(admin, **{"event": "signin", "from": "2027-01-13", "to": "2027-01-13"}) == [everything[3]]
    assert filtered(admin, uid="9999999999") == [] and filtered(admin, ip="2001:db8::1") == []
    response = admin.client.get("/admin/audit?uid=99999")
    assert "No events match these filters." in page(response)
    locked = audit_listed(page(admin.client.get("/admin/audit?event=account_locked")))[0]
    assert locked["By admin"] == f"#{admin.uid}" and locked["links"] == [user_page(trail["bob"]),
                                                                          user_page(admin.uid)]
    assert (locked["IP address"], locked["Browser"]) == ("192.0.2.1", "Firefox")


@pytest.mark.parametrize("filters, field, message", [
    ({"event": "no_such_event"}, "event", "Choose an event from the list."),
    ({"uid": "abc"}, "uid", "A user number is digits only, like 42."),
    ({"uid": "-1"}, "uid", "A user number is digits only, like 42."),
    ({"uid": "12345678901"}, "uid", "A user number is digits only, like 42."),
    ({"uid": "²"}, "uid", "A user number is digits only, like 42."),
    ({"ip": "192.0.2.1; DROP TABLE"}, "ip", "An IP address looks like 192.0.2.1 or 2001:db8::1."),
    ({"ip": "x" * 46}, "ip", "An IP address looks like 192.0.2.1 or 2001:db8::1."),
    ({"ip": "１９２.0.2.1"}, "ip", "An IP address looks like 192.0.2.1 or 2001:db8::1."),
    ({"from": "2027-13-01"}, "from", "From must be a date like 2027-01-31."),
    ({"from": "yesterday"}, "from", "From must be a date like 2027-01-31."),
    ({"to": "2027-02-30"}, "to", "To must be a date like 2027-01-31."),
    ({"to": "10000-01-01"}, "to", "To must be a date like 2027-01-31."),
    ({"from": "2027-01-15", "to": "2027-01-14"}, "to", "To must not be before From."),
])
def test_bad_filters_are_answered_400_with_a_message(admin, filters, field, message):
    for path in ("/admin/audit", "/admin/audit.csv"):
        response = admin.client.get(path, query_string=filters)
        assert response.status_code == 400 and response.content_type.startswith("text/html")
        assert message in html.unescape(page(response))
        assert f'id="{field}-error"' in page(response) and "Content-Disposition" not in response.headers


@pytest.mark.both_databases
def test_odd_but_valid_filters_and_cursors_are_never_a_500(admin, trail):
    for query_string in ({"from": "0001-01-01", "to": "9999-12-31"}, {"uid": "0000000001"}, {"before": "²-1"},
                         {"before": "1-99999999999999999999"}, {"before": "nonsense"}, {"ip": "::"},
                         {"before": f"{2**62}-{2**62}"}):
        assert admin.client.get("/admin/audit", query_string=query_string).status_code == 200, query_string
    for query_string in ({"by": "name", "after": "x\x1f99999999999999999999"}, {"by": "name", "after": "x\x1f²"},
                         {"after": "\x00"}, {"by": "name", "after": "\U0010ffff"}):
        assert admin.client.get("/admin", query_string=query_string).status_code == 200, query_string
    assert admin.client.get(f"{user_page(trail['ada'])}?before=1-²").status_code == 200
    # Parameters no form sends, named like url_for's own arguments or the page's values.
    for path in ("/admin", "/admin/audit", "/admin/audit.csv", user_page(trail["ada"])):
        for name in ("uid", "endpoint", "request", "values"):
            response = admin.client.get(path, query_string={name: "7", "before": "1-1"})
            assert response.status_code == 200, (path, name)
    links = page_link(page(admin.client.get("/admin/audit?event=signin&endpoint=x&before=1-1")), "First page")
    assert links == "/admin/audit?event=signin"  # the filters, and only they, are kept


@pytest.mark.both_databases
def test_the_audit_trail_pages_and_keeps_its_filters(admin, site, trail, clock):
    record_events(site, trail["ada"], 70)
    record_events(site, trail["bob"], 40)  # at the same second as Ada's
    pages = every_page(admin.client, "/admin/audit?event=signin_failed")
    rows = [row for p in pages for row in audit_listed(p)]
    assert [len(audit_listed(p)) for p in pages] == [50, 50, 12]
    assert len({(row["Account"], row["Detail"]) for row in rows}) == 112  # nobody twice
    assert [row["Detail"] for row in rows if row["Account"] == "bob@example.com"][:40] == [
        f"n{n}" for n in range(39, -1, -1)]
    assert all("event=signin_failed" in page_link(p, "First page") for p in pages[1:])
    assert page_link(pages[0], "Next page").startswith("/admin/audit?event=signin_failed&before=")
    # "To" and paging together: the pages end at the day's end.
    pages = every_page(admin.client, f"/admin/audit?to=2027-01-15&uid={trail['ada']}")
    assert [len(audit_listed(p)) for p in pages] == [50, 22]  # Jan 12, Jan 15 and the 70
    assert every_page(admin.client, "/admin/audit?to=2027-01-14")[-1].count('data-label="Event"') == 5


# -- the CSV export -------------------------------------------------------------------------

def exported(admin, **filters):
    """Download the audit trail as CSV with filters; return (response, rows as dicts)."""
    response = admin.client.get("/admin/audit.csv", query_string=filters)
    assert response.status_code == 200, page(response)
    return response, list(csv.DictReader(io.StringIO(page(response))))


@pytest.mark.both_databases
def test_the_csv_export_has_a_header_every_row_and_the_filters(admin, trail):
    response, rows = exported(admin)
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-20270115-080000.csv"'
    assert page(response).splitlines()[0] == "id,time_utc,event,uid,email,actor_uid,ip,user_agent,detail"
    assert len(rows) == 6 + 2  # the trail, and Grace's own group_added and signin
    locked = next(row for row in rows if row["event"] == "account_locked")
    assert locked == {"id": locked["id"], "time_utc": "2027-01-14 08:00:00", "event": "account_locked",
                      "uid": str(trail["bob"]), "email": "bob@example.com", "actor_uid": str(admin.uid),
                      "ip": "192.0.2.1", "user_agent": "Firefox", "detail": "1 sessions"}
    deleted = next(row for row in rows if row["event"] == "account_delete")
    assert (deleted["uid"], deleted["email"], deleted["actor_uid"]) == (str(trail["gone"]), "", "")
    _, signins = exported(admin, event="signin", ip="198.51.100.2")
    assert [(row["event"], row["uid"]) for row in signins] == [("signin", str(trail["bob"]))]
    _, days = exported(admin, **{"from": "2027-01-13", "to": "2027-01-13"})
    assert [row["event"] for row in days] == ["signin", "signin_failed"]
    assert [row["time_utc"] for row in rows] == sorted((row["time_utc"] for row in rows), reverse=True)


@pytest.mark.both_databases
def test_the_csv_export_reads_past_a_batch_of_rows_at_one_time(admin, site, make_user):
    ada = make_user(site)
    record_events(site, ada, 2100)  # more than two batches, every one at the same second
    _, rows = exported(admin, uid=str(ada))
    assert [row["detail"] for row in rows] == [f"n{n}" for n in range(2099, -1, -1)]


@pytest.mark.both_databases
def test_a_csv_cell_that_a_spreadsheet_would_run_gets_a_quote_first(admin, site, make_user):
    make_user(site)
    agents = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1)", "Firefox=fine"]
    for agent in agents:
        assert signin(browser(site, "192.0.2.44", agent)).status_code == 303
    _, rows = exported(admin, event="signin", ip="192.0.2.44")
    assert [row["user_agent"] for row in rows] == [
        "Firefox=fine", "'@SUM(A1)", "'-2+3", "'+SUM(1,2)", "'=cmd|' /C calc'!A0"]
    assert all(cell == "" or cell[0] not in "=+-@\t\r" for row in rows for cell in row.values())


# -- Download my data --------------------------------------------------------------------------

@pytest.mark.both_databases
def test_download_my_data_has_everything_of_mine_and_nothing_secret_or_of_anyone_else(
        site, make_user, query, clock):
    ada_uid = make_user(site)
    make_user(site, email="bob@example.com", firstname="Bob", lastname="Baker")
    ada = AuthActions(browser(site, "192.0.2.10", FIREFOX))
    bob = AuthActions(browser(site, "198.51.100.20", "BobBrowser/1.0"))
    assert ada.signin().headers["Location"] == "/profile"
    assert bob.signin(email="bob@example.com").headers["Location"] == "/profile"
    set_up_app(ada.client, clock)
    assert add_passkey(ada.client, SoftKey(TEST_BASE_URL)).status_code == 303
    for person, words in ((ada, "Ada's question"), (bob, "Bob's question")):
        assert person.post_form("/contact", {"name": words, "email": "x@example.com", "subject": words,
                                             "message": words}).status_code == 303
    # An admin, on their own browser and address, puts Ada in a group.
    make_admin(site, make_user)
    grace = AuthActions(browser(site, "203.0.113.99", "AdminBrowser/9.9"))
    assert grace.signin(email=GRACE["email"]).headers["Location"] == "/profile"
    done(act(grace, ada_uid, "group_add", group="staff"), ada_uid)

    response = ada.client.get("/account/data")
    assert response.status_code == 200 and response.content_type == "application/json; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="wsgiauth-data-20270115.json"'
    raw = page(response)
    data = json.loads(raw)
    assert data["account"]["uid"] == ada_uid and data["account"]["email"] == ADA["email"]
    assert data["groups"] == ["staff"]
    assert [(s["ip"], s["user_agent"]) for s in data["sessions"]] == [("192.0.2.10", FIREFOX)]
    assert data["second_factors"]["recovery_codes_left"] == 10 and len(data["second_factors"]["passkeys"]) == 1
    assert [m["subject"] for m in data["contact_messages"]] == ["Ada's question"]
    mine = [row for row in events(query) if row["uid"] == ada_uid and row["event"] != "data_exported"]
    assert [e["event"] for e in data["security_events"]] == [row["event"] for row in mine]
    assert [e["by_admin"] for e in data["security_events"] if e["event"] == "group_added"] == [True]
    # Nothing of Bob's, nothing of the admin's (their address, browser, account), no secret.
    others = ["bob@example.com", "Bob", "198.51.100.20", "BobBrowser", GRACE["email"], "203.0.113.99",
              "AdminBrowser", "Grace"]
    secrets = ([row["pwdhash"] for row in query("all_users_for_tests")]
               + [row["id_hash"] for row in query("all_sessions_for_tests")]
               + [row["secret"] for row in query("totp_factors_for_tests")]
               + [value for row in query("recovery_codes_for_tests") for value in (row["salt"], row["code_hash"])]
               + [value for row in query("passkey_secrets_for_tests")
                  for value in (row["credential_hash"], row["credential_data"], row["user_handle"])])
    assert [word for word in others + secrets if word in raw] == []
    assert "actor_uid" not in raw
    row = events(query, "data_exported")[-1]
    assert (row["uid"], row["actor_uid"]) == (ada_uid, None)


def test_download_my_data_needs_access_confirmed(ada, clock, query):
    clock.advance(WINDOW)
    response = ada.client.get("/account/data")
    assert (response.status_code, response.headers["Location"]) == (303, "/confirm-access?next=/account/data")
    assert events(query, "data_exported") == []




@pytest.mark.both_databases
def test_migration_0012_gives_existing_accounts_their_name_key_in_batches(database_url, query, monkeypatch):
    # Accounts stored before migration 0012 have no name key; its data step
    # (migrations.name_keys) writes Python's lower case of "first last",
    # a batch at a time.
    for uid in range(1, 6):
        query("insert_user_for_tests", uid=uid, email=f"old{uid}@example.com", pending_email=None)
    monkeypatch.setattr(migrations, "BATCH", 2)
    assert {row["name_key"] for row in query("users_names_after_for_tests")} == {""}
    db = Database(database_url)
    try:
        db.transaction(migrations.name_keys)
    finally:
        db.close()
    assert [row["name_key"] for row in query("users_names_after_for_tests")] == ["old user"] * 5


@pytest.mark.both_databases
def test_migration_0013_copies_each_accounts_groups_onto_its_row(app, make_user, database_url, query):
    # Its UPDATE, run on accounts whose copy is empty (as before 0013), writes each account's sorted names.
    grace = make_admin(app, make_user)
    hedy = make_user(app, confirmed=True, **HEDY)
    for name in ("staff", "finance"):
        in_transaction(app, accounts.add_to_group, grace, name)
    query("forget_group_names_for_tests")
    update = next(statement for statement in split_script((migrations.MIGRATIONS_DIR / (
        f"0013_group_names.{app.db.dialect}.sql")).read_text(encoding="utf-8")) if statement.startswith("UPDATE"))
    app.db.transaction(lambda tx: tx.script(update))
    assert {row["uid"]: row["group_names"] for row in query("group_names_for_tests")} == {
        grace: "admin,finance,staff", hedy: ""}

